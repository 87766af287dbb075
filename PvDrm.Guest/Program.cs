using System.CommandLine;
using PvDrm.Guest;

// pvdrm-guest: the guest side of PvDrm.
//   serve  the guest proxy: one connection to the host, serving local applications
//   run    a built-in verified workload against a host or a proxy
//   status a running proxy's applications and GEM cache counters
//   exec   an unmodified DRM program (libdrm) on the proxy's render node, through the preload shim
var root = new RootCommand("PvDrm guest: the proxy that serves local applications, and a verified workload runner");
root.Add(GuestCommands.Serve());
root.Add(GuestCommands.Run());
root.Add(GuestCommands.Status());
root.Add(ExecCommand.Create());
return await root.Parse(args).InvokeAsync();
