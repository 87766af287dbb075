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
        using var demo = ChildProcess.Start(script, "--guests", "3", "--size", "64", "--bin", AppContext.BaseDirectory);
        int exit = await demo.WaitAsync(TimeSpan.FromSeconds(180));

        Assert.True(exit == 0, demo.Stdout + demo.Stderr);
        Assert.Equal(6, demo.Stdout.Split(", verified").Length - 1);
        Assert.Contains("n2's guests moved", demo.Stdout);
        Assert.Contains("every run verified, before and after losing a node", demo.Stdout);
    }
}
