using PvDrm.Client;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// Issue 19: a departed guest's placement expires (pvdrm.cluster.placement-expiry) and stops
/// counting as load, while a connected guest's stays; a node's identity is written once and
/// its load only when it changes.
/// </summary>
public class PlacementExpiryTests : IDisposable
{
    private readonly Processes _run = new();

    [Fact]
    public async Task A_departed_guests_placement_expires_and_a_node_rewrites_only_its_changed_load()
    {
        var nodes = new PoolNodes(_run);
        await nodes.Start("n1", "placement-expiry = 2 s\nload-interval = 200 ms");
        string control = nodes.Control("n1");
        var start = await PoolTests.AwaitPool(control, s => PoolTests.AllUp(s, 1) && s.Writes!.LoadChecks >= 2, "the one-node pool should be up");
        Assert.Equal(1, start.Writes!.Identity);

        await using var staying = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "staying" });
        await Verified.FillAndCheck(await staying.OpenContextAsync(), 0x21);
        await using (var leaving = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "leaving" }))
            await Verified.FillAndCheck(await leaving.OpenContextAsync(), 0x22);
        var both = await PoolTests.PoolStatus(control);
        Assert.True(both.Assignments.ContainsKey("staying") && both.Assignments.ContainsKey("leaving"), string.Join(", ", both.Assignments));

        // The departed guest's placement goes; the connected one's stays.
        var expired = await PoolTests.AwaitPool(control, s => !s.Assignments.ContainsKey("leaving"), "leaving's placement should expire");
        Assert.Equal("n1/soft0", expired.Assignments["staying"]);
        Assert.Equal(["staying"], expired.Nodes.Single().Devices.Single().Guests);

        // Its load changed (guests came and went): load rewritten, identity not.
        Assert.True(expired.Writes!.Load > start.Writes.Load, $"load writes {start.Writes.Load} -> {expired.Writes.Load}");
        Assert.Equal(1, expired.Writes.Identity);

        // Steady: several checks later, nothing new written.
        var settled = await PoolTests.AwaitPool(control, s => s.Writes!.LoadChecks >= expired.Writes.LoadChecks + 2, "the load should be checked again");
        var later = await PoolTests.AwaitPool(control, s => s.Writes!.LoadChecks >= settled.Writes!.LoadChecks + 5, "the load should be checked five more times");
        Assert.Equal(settled.Writes!.Load, later.Writes!.Load);
        Assert.Equal(1, later.Writes.Identity);
    }

    public void Dispose() => _run.Dispose();
}
