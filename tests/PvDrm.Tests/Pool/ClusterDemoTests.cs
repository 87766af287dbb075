using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>deploy/cluster-demo.sh as README runs it: three nodes, guests placed, one node killed, everything verified again.</summary>
public class ClusterDemoTests
{
    [ToolFact("python3", "openssl")] // the script picks free ports and reads `status --json` with python3, and makes the pool's certificates with openssl
    public async Task The_cluster_demo_verifies_every_guest_before_and_after_losing_a_node()
    {
        string script = Path.Combine(Support.Repository.Root, "deploy", "cluster-demo.sh");
        // The sample configuration's 1.5 s + 1.5 s can down a live node on a loaded machine (CLUSTER.md, "Failover time").
        using var demo = ChildProcess.StartWith(script,
            new Dictionary<string, string?> { ["PVDRM_DEMO_FAILURE_DETECTION"] = "3 s", ["PVDRM_DEMO_DOWN_AFTER"] = "2 s" },
            "--guests", "3", "--size", "64", "--bin", AppContext.BaseDirectory);
        int exit = await demo.WaitAsync(TimeSpan.FromSeconds(300));

        Assert.True(exit == 0, demo.Stdout + demo.Stderr);
        // Every guest twice, and the timed guest's first run after the kill.
        Assert.Equal(7, demo.Stdout.Split(", verified").Length - 1);
        Assert.Matches(@"failover: kill -9 of n2 to vm\d+'s first verified run on another node: \d+ ms", demo.Stdout);
        Assert.Contains("every run verified, before and after losing a node", demo.Stdout);
    }
}
