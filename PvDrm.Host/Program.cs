using PvDrm.Cli;
using PvDrm.Actors;
using PvDrm.Host;

// pvdrm-host: the PvDrm host daemon (PVDRM's dom0 back-end).
//   serve  run the host: guests connect, requests run on the device
//   demo   a host on SoftGpu, several guest proxies and verified workloads, both modes
//   soak   many guests SIGKILLed at random for a while; proves nothing leaks
//   config          the values a configuration gives to settings (for scripts)
//   nodes           the DRM nodes of this machine, and which one device = auto would take
//   status, devices, attach, detach, evict, set   admin commands against a running host (its control socket)
// Every error ends in one line on stderr and an exit code (README, "Exit codes").
Terminal.WideWhenRedirected();
return await PvDrmCommandLine.RunAsync(HostCommandLine.Create(), args);
