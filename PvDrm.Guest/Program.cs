using PvDrm.Cli;
using PvDrm.Actors;
using PvDrm.Guest;

// pvdrm-guest: the guest side of PvDrm.
//   serve  the guest proxy: one connection to the host, serving local applications
//   run    a built-in verified workload against a host or a proxy
//   status a running proxy's applications and GEM cache counters
//   exec   an unmodified DRM program (libdrm) on the proxy's render node, through the preload shim
// Every error ends in one line on stderr and an exit code (README, "Exit codes").
return await PvDrmCommandLine.RunAsync(GuestCommandLine.Create(), args);
