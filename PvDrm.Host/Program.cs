using System.CommandLine;
using PvDrm.Host;

// pvdrm-host: the PvDrm host daemon (PVDRM's dom0 back-end).
//   serve  run the host: guests connect, requests run on the device
//   demo   a host on SoftGpu, several guest proxies and verified workloads, both modes
//   soak   many guests SIGKILLed at random for a while; proves nothing leaks
//   nodes           the DRM nodes of this machine, and which one device = auto would take
//   status, devices, attach, detach, evict, set   admin commands against a running host (its control socket)
Terminal.WideWhenRedirected();
var root = new RootCommand("PvDrm host: shares one GPU among isolated guests through the DRM/GEM interface");
root.Add(HostCommands.Serve());
root.Add(HostCommands.Demo());
root.Add(HostCommands.Soak());
root.Add(DeviceCommands.Nodes());
root.Add(AdminCommands.Status());
root.Add(AdminCommands.Devices());
root.Add(AdminCommands.Attach(attach: true));
root.Add(AdminCommands.Attach(attach: false));
root.Add(AdminCommands.Evict());
root.Add(AdminCommands.Set());
return await root.Parse(args).InvokeAsync();
