using PvDrm.Host.Demo;

namespace PvDrm.Tests.Operations;

/// <summary>deploy/netns-demo.sh: guests in network namespaces reach the host over TCP, then everything is torn down.</summary>
public class NetnsDemoTests
{
    [NetnsFact]
    public async Task The_netns_demo_runs_guests_over_tcp_from_their_own_namespaces_and_leaves_nothing_behind()
    {
        string script = Path.Combine(Support.Repository.Root, "deploy", "netns-demo.sh");
        using var demo = ChildProcess.Start(script, "--guests", "2", "--size", "64", "--bin", AppContext.BaseDirectory);
        int exit = await demo.WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exit == 0, demo.Stdout + demo.Stderr);
        Assert.Contains("vm1", demo.Stdout);
        Assert.Equal(2, demo.Stdout.Split(", verified").Length - 1);
        Assert.Contains("intruder (no token): refused", demo.Stdout);
        Assert.Contains("all 2 guests verified over TCP", demo.Stdout);
        Assert.DoesNotContain($"pvdrm-{demo.Id}-", Run("ip", "netns", "list"));
        Assert.DoesNotContain($"pvbr{demo.Id}", Run("ip", "link"));
    }

    private static string Run(params string[] command)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command[0], command[1..]) { RedirectStandardOutput = true })!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    internal static int RunExit(params string[] command)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command[0], command[1..])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }
}

/// <summary>Runs where network namespaces can be made: root, iproute2, and a kernel and container that allow it.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(() =>
    {
        if (Tmds.Linux.LibC.geteuid() != 0) return "creating network namespaces needs root";
        if (!new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip" }.Any(File.Exists)) return "iproute2 (ip) is not installed";
        string probe = $"pvdrm-probe-{Environment.ProcessId}";
        if (NetnsDemoTests.RunExit("ip", "netns", "add", probe) != 0) return "this kernel or container does not allow network namespaces (ip netns add failed)";
        NetnsDemoTests.RunExit("ip", "netns", "del", probe);
        return null;
    });

    public NetnsFactAttribute()
    {
        if (s_missing.Value is { } reason) Skip = reason;
    }
}
