using System.CommandLine;

namespace PvDrm.Guest;

/// <summary>The command tree of pvdrm-guest (tests walk it to try every option).</summary>
internal static class GuestCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("PvDrm guest: the proxy that serves local applications, and a verified workload runner");
        root.Add(GuestCommands.Serve());
        root.Add(GuestCommands.Config());
        root.Add(GuestCommands.Run());
        root.Add(GuestCommands.Status());
        root.Add(ExecCommand.Create());
        root.Add(CheckCommand.Create());
        return root;
    }
}
