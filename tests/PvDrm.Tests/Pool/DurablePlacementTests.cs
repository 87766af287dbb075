using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Tests.Support;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Pool;

/// <summary>
/// Issue 19: placements kept in each node's state folder (Akka.DistributedData's LightningDB
/// store) survive a stop of every node: started again, the pool puts each guest back on its device.
/// </summary>
public class DurablePlacementTests : IDisposable
{
    private readonly Processes _run = new();

    [LmdbFact]
    public async Task Stopping_every_node_and_starting_them_again_keeps_each_guests_device()
    {
        var nodes = new PoolNodes(_run);
        string Durable(string node) => $"state-dir = \"{nodes.StateDir(node)}\"";
        var n1 = await nodes.Start("n1", Durable("n1"));
        var n2 = await nodes.Start("n2", Durable("n2"));
        await PoolTests.AwaitPool(nodes.Control("n1"), s => PoolTests.AllUp(s, 2) && s.Nodes.All(n => n.Devices.Count == 1), "two nodes should be up");

        // Placed by the operator on n2, which auto placement would not choose for it (n1 sorts first).
        await using (var guest = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "vm1" }))
        {
            await Verified.FillAndCheck(await guest.OpenContextAsync(), 0x11);
            var attach = await ControlClient.SendAsync(nodes.Control("n1"), new ControlProtocol.Request("attach", "vm1", Value: "n2/soft0"), Processes.Timeout);
            Assert.True(attach.Ok, attach.Message);
            await PoolTests.AwaitPool(nodes.Control("n2"), s => s.Assignments.GetValueOrDefault("vm1") == "n2/soft0", "n2 should see vm1 on n2/soft0");
        }

        // Every node stops (the last one has nowhere to move its guests, so keeps their placements).
        n1.Signal(SIGTERM);
        Assert.Equal(0, await n1.WaitAsync(Processes.Timeout));
        n2.Signal(SIGTERM);
        Assert.Equal(0, await n2.WaitAsync(Processes.Timeout));

        await nodes.Start("n1", Durable("n1"));
        await nodes.Start("n2", Durable("n2"));
        var pool = await PoolTests.AwaitPool(nodes.Control("n1"), s => PoolTests.AllUp(s, 2) && s.Nodes.All(n => n.Devices.Count == 1)
            && s.Assignments.ContainsKey("vm1"), "the restarted pool should know vm1's placement");
        Assert.Equal("n2/soft0", pool.Assignments["vm1"]);

        // The guest reaches n1 and runs on its device, n2's.
        await using var again = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "vm1" });
        await Verified.FillAndCheck(await again.OpenContextAsync(), 0x12);
        var n2Status = (await ControlClient.SendAsync(nodes.Control("n2"), new ControlProtocol.Request("status"), Processes.Timeout)).Status!;
        Assert.Contains(n2Status.Guests, g => g.Name == "vm1" && g.Device == "soft0");
    }

    public void Dispose() => _run.Dispose();
}
