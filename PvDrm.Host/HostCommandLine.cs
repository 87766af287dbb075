using System.CommandLine;

namespace PvDrm.Host;

/// <summary>The command tree of pvdrm-host (tests walk it to try every option).</summary>
internal static class HostCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("PvDrm host: shares one GPU among isolated guests through the DRM/GEM interface");
        root.Add(HostCommands.Serve());
        root.Add(HostCommands.Demo());
        root.Add(HostCommands.Soak());
        root.Add(DeviceCommands.Nodes());
        root.Add(ConfigCommand.Create());
        root.Add(AdminCommands.Status());
        root.Add(AdminCommands.Devices());
        root.Add(AdminCommands.Attach(attach: true));
        root.Add(AdminCommands.Attach(attach: false));
        root.Add(AdminCommands.Evict());
        root.Add(AdminCommands.Set());
        return root;
    }
}
