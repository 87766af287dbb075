using Akka.Actor;
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
/// Overlap is observed through the device, not the clock: two pushbufs on two channels meet at a
/// rendezvous. The first releases semaphore 1 and then waits for semaphore 2; the second waits
/// for semaphore 1 and then releases semaphore 2. Both can succeed only if they run at once.
/// </summary>
public class SequentialGateSpec : TestKit
{
    private static async Task<DrmContext> Rendezvous(HostHarness host)
    {
        var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphores = await ctx.GemNewAsync(4096);
        var first = await ctx.ChannelAllocAsync();
        var second = await ctx.ChannelAllocAsync();

        var one = new PushbufBuilder();
        uint s = one.Use(semaphores, BufferAccess.ReadWrite);
        one.Commands.SemaphoreRelease(s, 0, 1);
        one.Commands.SemaphoreAcquire(s, 4, 1);
        var two = new PushbufBuilder();
        s = two.Use(semaphores, BufferAccess.ReadWrite);
        two.Commands.SemaphoreAcquire(s, 0, 1);
        two.Commands.SemaphoreRelease(s, 4, 1);

        await Task.WhenAll(ctx.SubmitAsync(first, one), ctx.SubmitAsync(second, two)).WaitAsync(HostHarness.Timeout);
        return ctx;
    }

    [Fact]
    public async Task Two_channels_run_at_the_same_time_in_concurrent_mode()
    {
        var host = new HostHarness(this);
        var ctx = await Rendezvous(host);

        await ctx.FenceWaitAsync(1).WaitAsync(HostHarness.Timeout);
        await ctx.FenceWaitAsync(2).WaitAsync(HostHarness.Timeout);
        Assert.Equal(2, host.Device.GetStats().PeakRunning);
    }

    [Fact]
    public async Task Nothing_overlaps_with_sequential_on()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, Sequential = true },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMilliseconds(300) });
        var ctx = await Rendezvous(host);

        // The first pushbuf held the gate until its wait gave up; only then did the second run.
        var failed = await Assert.ThrowsAsync<DrmException>(() => ctx.FenceWaitAsync(1));
        Assert.Equal(Errno.ETIMEDOUT, failed.Errno);
        await ctx.FenceWaitAsync(2).WaitAsync(HostHarness.Timeout);
        Assert.Equal(1, host.Device.GetStats().PeakRunning);
    }

    [Fact]
    public async Task A_guests_backlog_delays_another_guests_request_by_at_most_one_turn()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, Sequential = true },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMilliseconds(300) });
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();
        var semaphore = await evil.GemNewAsync(4096);
        var target = await evil.GemNewAsync(4096);
        var channel = await evil.ChannelAllocAsync();
        var mine = await work.GemNewAsync(4096);
        var myChannel = await work.ChannelAllocAsync();

        // Five pushbufs that each hold the gate until their acquire times out, sent at once.
        var backlog = Enumerable.Range(0, 5).Select(_ => evil.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 7))).ToList();
        AwaitCondition(() => host.Device.GetStats().Submitted == 1, HostHarness.Timeout, HostHarness.Poll);

        // In sequential mode a PUSHBUF is answered when its turn comes: count the attacker's finished pushbufs then.
        await work.SubmitAsync(myChannel, Commands.Fill(mine, 1)).WaitAsync(HostHarness.Timeout);
        // At most the attacker's first and the bystander's own; FIFO, all five of the attacker's.
        long done = host.Device.GetStats().Completed;
        Assert.True(done <= 2, $"{done} pushbufs had run when the bystander's turn came");
        await Task.WhenAll(backlog).WaitAsync(HostHarness.Timeout);
    }
}

/// <summary>The gate on its own, driven message by message through the switches that must not lose track.</summary>
public class SequentialGateSwitchSpec : TestKit
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    private (IActorRef Gate, HostMode Mode) Gate(bool sequential)
    {
        var gate = Sys.ActorOf(SequentialGate.Props(new SequentialTurnSettings()));
        var mode = new HostMode(sequential, gate);
        gate.Tell(mode);
        return (gate, mode);
    }

    private static Request NewRequest(uint id) => new PvDrm.Protocol.Requests.GetVersion { RequestId = id };

    [Fact]
    public void Guests_take_turns_so_a_backlog_delays_another_guest_by_one_request()
    {
        var (gate, _) = Gate(sequential: true);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var backlog = Enumerable.Range(1, 4).Select(i => NewRequest((uint)i)).ToList();
        foreach (var r in backlog) gate.Tell(new GateProtocol.Gated(r, a));
        var single = NewRequest(100);
        gate.Tell(new GateProtocol.Gated(single, b));

        a.ExpectMsg(backlog[0], HostHarness.Timeout);
        gate.Tell(new GateProtocol.Completed(backlog[0], null));
        b.ExpectMsg(single, HostHarness.Timeout); // before the rest of A's backlog
        a.ExpectNoMsg(Quiet);
        gate.Tell(new GateProtocol.Completed(single, null));
        for (int i = 1; i < backlog.Count; i++)
        {
            a.ExpectMsg(backlog[i], HostHarness.Timeout); // A's own order is kept
            gate.Tell(new GateProtocol.Completed(backlog[i], null));
        }
    }

    /// <summary>A gate made the way the host makes it, from configuration read through <see cref="HostSettings"/>.</summary>
    private IActorRef ConfiguredGate(string hocon)
    {
        var settings = HostSettings.Create(Actors.PvDrmConfig.Load(null, hocon));
        var gate = Sys.ActorOf(SequentialGate.Props(settings.SequentialTurn));
        gate.Tell(new HostMode(true, gate));
        return gate;
    }

    [Fact]
    public void A_turn_is_sequential_turn_requests_long_then_the_next_guest_with_requests_waiting_goes()
    {
        var gate = ConfiguredGate("pvdrm.host.sequential-turn.requests = 3");
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var backlog = Enumerable.Range(1, 5).Select(i => NewRequest((uint)i)).ToList();
        foreach (var r in backlog) gate.Tell(new GateProtocol.Gated(r, a));
        var single = NewRequest(100);
        gate.Tell(new GateProtocol.Gated(single, b));

        // A's turn: three requests in a row (counted, not timed), then B's, then A's next turn.
        for (int i = 0; i < 3; i++)
        {
            a.ExpectMsg(backlog[i], HostHarness.Timeout);
            b.ExpectNoMsg(TimeSpan.Zero);
            gate.Tell(new GateProtocol.Completed(backlog[i], null));
        }
        b.ExpectMsg(single, HostHarness.Timeout);
        a.ExpectNoMsg(TimeSpan.Zero);
        gate.Tell(new GateProtocol.Completed(single, null));
        a.ExpectMsg(backlog[3], HostHarness.Timeout);
    }

    [Fact]
    public void A_request_holds_the_gate_for_at_most_sequential_turn_timeout_not_the_request_timeout()
    {
        var gate = ConfiguredGate("pvdrm.host { limits.request-timeout = 1 h, sequential-turn.timeout = 100 ms }");
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var stuck = NewRequest(1);
        gate.Tell(new GateProtocol.Gated(stuck, a));
        a.ExpectMsg(stuck, HostHarness.Timeout);
        var waiting = NewRequest(2);
        gate.Tell(new GateProtocol.Gated(waiting, b));

        // The stuck request never completes; B is served once A's turn ran out (the deadline only bounds a hang).
        b.ExpectMsg(waiting, HostHarness.Timeout);
    }

    [Fact]
    public void Switching_on_waits_for_requests_that_bypassed_the_gate()
    {
        var (gate, mode) = Gate(sequential: false);
        var target = CreateTestProbe();
        mode.DirectStarted(); // a request already running outside the gate

        gate.Tell(new GateProtocol.SetSequential(true), TestActor);
        var waiting = NewRequest(1);
        gate.Tell(new GateProtocol.Gated(waiting, target));
        ExpectNoMsg(Quiet);
        target.ExpectNoMsg(Quiet);

        mode.DirectDone();
        ExpectMsg(true, HostHarness.Timeout);
        target.ExpectMsg(waiting, HostHarness.Timeout);
    }

    [Fact]
    public void Switching_off_and_on_again_still_waits_for_what_was_passed_on_earlier()
    {
        var (gate, mode) = Gate(sequential: false);
        var target = CreateTestProbe();
        var passedOn = NewRequest(1);
        gate.Tell(new GateProtocol.Gated(passedOn, target));
        target.ExpectMsg(passedOn, HostHarness.Timeout); // concurrent: passed on at once, still running

        gate.Tell(new GateProtocol.SetSequential(true), TestActor);  // waits for it...
        gate.Tell(new GateProtocol.SetSequential(false), TestActor); // ...switched off meanwhile
        ExpectMsg(true, HostHarness.Timeout);
        gate.Tell(new GateProtocol.SetSequential(true), TestActor);  // and on again: must still wait for it
        var later = NewRequest(2);
        gate.Tell(new GateProtocol.Gated(later, target));
        target.ExpectNoMsg(Quiet);

        gate.Tell(new GateProtocol.Completed(passedOn, null));
        target.ExpectMsg(later, HostHarness.Timeout);
    }

    [Fact]
    public void A_request_whose_gpu_work_outlives_a_switch_off_is_still_waited_for_by_the_next_switch_on()
    {
        var (gate, mode) = Gate(sequential: true);
        var target = CreateTestProbe();
        var running = NewRequest(1);
        gate.Tell(new GateProtocol.Gated(running, target));
        target.ExpectMsg(running, HostHarness.Timeout);
        var work = new GpuFence(1);
        gate.Tell(new GateProtocol.Completed(running, work)); // answered; its GPU work still runs

        gate.Tell(new GateProtocol.SetSequential(false), TestActor);
        ExpectMsg(true, HostHarness.Timeout);
        gate.Tell(new GateProtocol.SetSequential(true), TestActor);
        var later = NewRequest(2);
        gate.Tell(new GateProtocol.Gated(later, target));
        target.ExpectNoMsg(Quiet);

        work.TrySignal();
        target.ExpectMsg(later, HostHarness.Timeout);
    }
}
