using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>
/// The gate in a running host, seen through the device and the gate's own state: overlap is a
/// rendezvous that completes only when two pushbufs run at once; holding is a pushbuf waiting on a
/// semaphore that only the test releases, through a mapping. No timeout decides an outcome.
/// </summary>
public class SequentialGateSpec : TestKit
{
    [Fact]
    public async Task Two_channels_run_at_the_same_time_in_concurrent_mode()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        await GateScenarios.Rendezvous(await client.OpenContextAsync());
        Assert.Equal(2, host.Device.GetStats().PeakRunning);
    }

    [Fact]
    public async Task Nothing_overlaps_with_sequential_on()
    {
        var host = new HostHarness(this, GateScenarios.Sequential());
        await using var client = await host.ConnectAsync();
        await this.ReleaseWaitsWhileAcquireHolds(host, await client.OpenContextAsync());
        Assert.Equal(1, host.Device.GetStats().PeakRunning);
    }

    [Fact]
    public async Task A_guests_turn_ends_when_its_request_completes_and_only_then_the_next_guest_runs()
    {
        var host = new HostHarness(this, GateScenarios.Sequential()); // a turn never times out here
        await using var holder = await host.ConnectAsync("holder");
        await using var next = await host.ConnectAsync("next");
        var held = await holder.OpenContextAsync();
        var waiting = await next.OpenContextAsync();
        var semaphore = await held.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await held.GemNewAsync(4096);
        ulong fence = await held.SubmitAsync(await held.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 7));

        var request = waiting.GemNewAsync(4096);
        this.AwaitWaitingAtGate(host, 1);
        Assert.Equal(Op.Pushbuf, this.GateState(host).Running?.Op); // the holder's answered pushbuf keeps its turn while its work runs
        Assert.False(request.IsCompleted);

        GateScenarios.Release(release, 1);
        await request.WaitAsync(HostHarness.Timeout);
        Assert.Equal(1, host.Device.GetStats().Completed); // the holder's work was complete when the next guest ran
        await held.FenceWaitAsync(fence).WaitAsync(HostHarness.Timeout);
    }

    [Fact]
    public async Task A_guests_backlog_delays_another_guests_request_by_at_most_one_turn()
    {
        var host = new HostHarness(this, GateScenarios.Sequential());
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();
        var semaphore = await evil.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await evil.GemNewAsync(4096);
        var channel = await evil.ChannelAllocAsync();
        var mine = await work.GemNewAsync(4096);
        var myChannel = await work.ChannelAllocAsync();

        // Five pushbufs that wait on a semaphore, the k-th until it reaches k, sent at once: the first
        // holds the gate, four wait behind it.
        var backlog = Enumerable.Range(1, 5).Select(k => evil.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, (uint)k, target, 7))).ToList();
        this.AwaitWaitingAtGate(host, 4);
        var bystanders = work.SubmitAsync(myChannel, Commands.Fill(mine, 1));
        this.AwaitWaitingAtGate(host, 5);

        // Only the first may go on. In sequential mode a PUSHBUF is answered when its turn comes: first come
        // first served, the attacker's second would take the gate and hold it, and the bystander would never be answered.
        GateScenarios.Release(release, 1);
        await bystanders.WaitAsync(HostHarness.Timeout);
        long done = host.Device.GetStats().Completed;
        Assert.True(done <= 2, $"{done} pushbufs had run when the bystander's turn came"); // the attacker's first, perhaps the bystander's own
        GateScenarios.Release(release, 5);
        await Task.WhenAll(backlog).WaitAsync(HostHarness.Timeout);
    }
}
