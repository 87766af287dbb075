using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Gate;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Tests.Support;
using static PvDrm.Actors.Host.Gate.GateProtocol;

namespace PvDrm.Tests.Host;

/// <summary>
/// The gate on its own, driven message by message, with probes as the guests' actors. Absence is
/// proven after the gate has processed everything sent before (<see cref="Settled"/>), never by waiting.
/// </summary>
public class SequentialGateSwitchSpec : TestKit
{
    private (IActorRef Gate, PublishedRoute Routes) Gate(bool sequential, SequentialTurnSettings? turn = null)
    {
        var routes = SequentialGate.Start(Sys, turn ?? new SequentialTurnSettings { Timeout = TimeSpan.FromHours(1) }, sequential, $"gate-{Guid.NewGuid():N}");
        return (routes.Current.Gate, routes);
    }

    /// <summary>Returns once the gate has processed every message sent to it before (Identify is answered in mailbox order).</summary>
    private void Settled(IActorRef gate)
    {
        var probe = CreateTestProbe();
        gate.Tell(new Identify(null), probe);
        probe.ExpectMsg<ActorIdentity>(HostHarness.Timeout);
    }

    private static Request NewRequest(uint id) => new PvDrm.Protocol.Requests.GetVersion { RequestId = id };

    /// <summary>What a link does on the sequential route.</summary>
    private static void Send(PublishedRoute routes, Request request, IActorRef guest)
    {
        request.Route = routes.Current;
        routes.Current.Gate.Tell(new Wait(request, guest));
    }

    /// <summary>What the link does when the request is answered: the route it took hears of it.</summary>
    private static void Answer(Request request, GpuFence? work = null) => request.Route!.Answered(request, work);

    [Fact]
    public void Guests_take_turns_so_a_backlog_delays_another_guest_by_one_request()
    {
        var (gate, routes) = Gate(sequential: true);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var backlog = Enumerable.Range(1, 4).Select(i => NewRequest((uint)i)).ToList();
        foreach (var r in backlog) Send(routes, r, a);
        var single = NewRequest(100);
        Send(routes, single, b);

        a.ExpectMsg(backlog[0], HostHarness.Timeout);
        Answer(backlog[0]);
        b.ExpectMsg(single, HostHarness.Timeout); // before the rest of A's backlog
        Settled(gate);
        a.ExpectNoMsg(TimeSpan.Zero);
        Answer(single);
        for (int i = 1; i < backlog.Count; i++)
        {
            a.ExpectMsg(backlog[i], HostHarness.Timeout); // A's own order is kept
            Answer(backlog[i]);
        }
    }

    [Fact]
    public void A_turn_is_sequential_turn_requests_long_then_the_next_guest_with_requests_waiting_goes()
    {
        var settings = HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.sequential-turn.requests = 3"));
        var (gate, routes) = Gate(sequential: true, settings.SequentialTurn);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var backlog = Enumerable.Range(1, 5).Select(i => NewRequest((uint)i)).ToList();
        foreach (var r in backlog) Send(routes, r, a);
        var single = NewRequest(100);
        Send(routes, single, b);

        // A's turn: three requests in a row (counted, not timed), then B's, then A's next turn.
        for (int i = 0; i < 3; i++)
        {
            a.ExpectMsg(backlog[i], HostHarness.Timeout);
            Settled(gate);
            b.ExpectNoMsg(TimeSpan.Zero);
            Answer(backlog[i]);
        }
        b.ExpectMsg(single, HostHarness.Timeout);
        Settled(gate);
        a.ExpectNoMsg(TimeSpan.Zero);
        Answer(single);
        a.ExpectMsg(backlog[3], HostHarness.Timeout);
    }

    [Fact]
    public async Task A_turn_ends_when_its_request_is_answered_and_its_gpu_work_has_run()
    {
        var (gate, routes) = Gate(sequential: true);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var (first, second) = (NewRequest(1), NewRequest(2));
        Send(routes, first, a);
        Send(routes, second, b);
        a.ExpectMsg(first, HostHarness.Timeout);

        var work = new GpuFence(1);
        Answer(first, work); // answered; its GPU work still runs
        Settled(gate);
        b.ExpectNoMsg(TimeSpan.Zero);
        Assert.Same(first, (await gate.Ask<State>(GetState.Instance, HostHarness.Timeout)).Running);

        work.TrySignal();
        b.ExpectMsg(second, HostHarness.Timeout);
    }

    [Fact]
    public void A_request_holds_the_gate_for_at_most_sequential_turn_timeout_not_the_request_timeout()
    {
        var settings = HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host { limits.request-timeout = 1 h, sequential-turn.timeout = 100 ms }"));
        var (_, routes) = Gate(sequential: true, settings.SequentialTurn);
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var stuck = NewRequest(1);
        Send(routes, stuck, a);
        a.ExpectMsg(stuck, HostHarness.Timeout);
        var waiting = NewRequest(2);
        Send(routes, waiting, b);

        // The stuck request is never answered; B is served once A's turn ran out (the deadline only bounds a hang).
        b.ExpectMsg(waiting, HostHarness.Timeout);
    }

    [Fact]
    public void Switching_on_publishes_the_sequential_route_at_once_and_runs_nothing_until_requests_that_bypassed_the_gate_finish()
    {
        var (gate, routes) = Gate(sequential: false);
        var target = CreateTestProbe();
        var bypassed = (ConcurrentRoute)routes.Current;
        Assert.True(bypassed.TryEnter()); // a request a link sent straight to its guest, still running

        gate.Tell(new SetSequential(true), TestActor);
        var waiting = NewRequest(1);
        Settled(gate);
        Assert.IsType<SequentialRoute>(routes.Current);
        Assert.False(bypassed.TryEnter()); // closed: a link takes the new route
        Send(routes, waiting, target);
        Settled(gate);
        ExpectNoMsg(TimeSpan.Zero);
        target.ExpectNoMsg(TimeSpan.Zero);

        bypassed.Leave();
        ExpectMsg(Switched.On, HostHarness.Timeout);
        target.ExpectMsg(waiting, HostHarness.Timeout);
    }

    [Fact]
    public void Switching_off_and_on_again_still_waits_for_what_was_passed_on_earlier()
    {
        var (gate, routes) = Gate(sequential: false);
        var target = CreateTestProbe();
        var late = NewRequest(1);
        Send(routes, late, target); // sent on the sequential route just before a switch off: handed on, counted
        target.ExpectMsg(late, HostHarness.Timeout);

        gate.Tell(new SetSequential(true), TestActor);  // waits for it...
        gate.Tell(new SetSequential(false), TestActor); // ...switched off meanwhile
        ExpectMsg(Switched.Off, HostHarness.Timeout);    // the switch on was overtaken
        ExpectMsg(Switched.Off, HostHarness.Timeout);
        gate.Tell(new SetSequential(true), TestActor);  // and on again: must still wait for it
        var later = NewRequest(2);
        Send(routes, later, target);
        Settled(gate);
        target.ExpectNoMsg(TimeSpan.Zero);

        Answer(late);
        ExpectMsg(Switched.On, HostHarness.Timeout);
        target.ExpectMsg(later, HostHarness.Timeout);
    }

    [Fact]
    public void A_request_whose_gpu_work_outlives_a_switch_off_is_still_waited_for_by_the_next_switch_on()
    {
        var (gate, routes) = Gate(sequential: true);
        var target = CreateTestProbe();
        var running = NewRequest(1);
        Send(routes, running, target);
        target.ExpectMsg(running, HostHarness.Timeout);
        var work = new GpuFence(1);
        Answer(running, work); // answered; its GPU work still runs

        gate.Tell(new SetSequential(false), TestActor);
        ExpectMsg(Switched.Off, HostHarness.Timeout);
        gate.Tell(new SetSequential(true), TestActor);
        var later = NewRequest(2);
        Send(routes, later, target);
        Settled(gate);
        target.ExpectNoMsg(TimeSpan.Zero);

        work.TrySignal();
        target.ExpectMsg(later, HostHarness.Timeout);
    }

    [Fact]
    public void Switching_off_hands_on_what_waits_in_each_guests_order_and_late_arrivals_after_it()
    {
        var (gate, routes) = Gate(sequential: true);
        var (a, b, holder) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var running = NewRequest(99);
        Send(routes, running, holder);
        holder.ExpectMsg(running, HostHarness.Timeout); // holds the gate: the rest waits
        var fromA = Enumerable.Range(1, 3).Select(i => NewRequest((uint)i)).ToList();
        var fromB = Enumerable.Range(11, 2).Select(i => NewRequest((uint)i)).ToList();
        foreach (var r in fromA) Send(routes, r, a);
        foreach (var r in fromB) Send(routes, r, b);

        gate.Tell(new SetSequential(false), TestActor);
        ExpectMsg(Switched.Off, HostHarness.Timeout);
        Assert.IsType<ConcurrentRoute>(routes.Current);
        // Everything that waited was handed on before the switch was answered.
        foreach (var r in fromA) a.ExpectMsg(r, TimeSpan.Zero);
        foreach (var r in fromB) b.ExpectMsg(r, TimeSpan.Zero);

        // Then a request sent on the sequential route before the switch, and the next one following it: in order.
        var (late, following) = (NewRequest(4), NewRequest(5));
        Send(routes, late, a);
        Assert.True(((ConcurrentRoute)routes.Current).TryEnter());
        following.Route = routes.Current;
        gate.Tell(new PassOn(following, a));
        a.ExpectMsg(late, HostHarness.Timeout);
        a.ExpectMsg(following, HostHarness.Timeout);
    }

    [Fact]
    public void A_request_following_its_guest_through_a_gate_that_switched_on_waits_for_its_turn_instead_of_blocking_the_switch()
    {
        var (gate, routes) = Gate(sequential: false);
        var a = CreateTestProbe();
        var concurrent = (ConcurrentRoute)routes.Current;
        var following = NewRequest(1);
        Assert.True(concurrent.TryEnter()); // counted on the concurrent route by its link, on its way through the gate
        following.Route = concurrent;

        gate.Tell(new SetSequential(true), TestActor);
        gate.Tell(new PassOn(following, a));
        ExpectMsg(Switched.On, HostHarness.Timeout); // it no longer counts as running outside the gate
        a.ExpectMsg(following, HostHarness.Timeout); // it runs as a turn
        Assert.IsType<SequentialRoute>(following.Route);
    }
}
