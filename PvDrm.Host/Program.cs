using System.CommandLine;
using PvDrm.Host;

// pvdrm-host: the PvDrm host daemon (PVDRM's dom0 back-end).
//   serve  run the host: guests connect, requests run on the device
//   demo   a host on SoftGpu, several guest proxies and verified workloads, both modes
var root = new RootCommand("PvDrm host: shares one GPU among isolated guests through the DRM/GEM interface");
root.Add(HostCommands.Serve());
root.Add(HostCommands.Demo());
return await root.Parse(args).InvokeAsync();
