using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using static PvDrm.Actors.Host.Gate.GateProtocol;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// <c>/user/pvdrm/gate</c>: owns the host's mode. It publishes the route the guest links take
/// (<see cref="PublishedRoute"/>): concurrent, straight to each guest's actor, or sequential,
/// through here, where every request of every guest waits and runs alone, to completion. Guests
/// take turns of up to <c>sequential-turn.requests</c> requests each (<see cref="GuestTurns"/>),
/// each guest's requests in arrival order; a request holds the gate until it is complete (answered,
/// and the GPU work it started has run) or for <c>sequential-turn.timeout</c> at most. PVDRM's
/// back-end behaviour, kept for debugging and comparison, without letting one guest's backlog own it.
///
/// Behaviours: <see cref="Concurrent"/>; switched on, <see cref="Draining"/> until nothing that
/// bypassed the gate runs; then <see cref="Idle"/> and <see cref="Running"/> in turn. Switching
/// off hands on what waits, each guest's requests in order, before the concurrent route is published.
/// </summary>
internal sealed class SequentialGate : ReceiveActor, IWithTimers
{
    private readonly TimeSpan _turnLimit;
    private readonly PublishedRoute _routes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly GuestTurns _waiting;
    // Closed concurrent routes with requests still on them: switching on waits for them.
    private readonly HashSet<ConcurrentRoute> _closing = new();
    // Turns that were running when the gate switched off, counted on the concurrent route they joined.
    private readonly Dictionary<Request, ConcurrentRoute> _leftovers = new(ReferenceEqualityComparer.Instance);
    private readonly List<IActorRef> _switchingOn = new();
    private Request? _current;

    // The first route is published by Start, perhaps after this runs: the gate reads it only when messages come.
    public SequentialGate(SequentialTurnSettings turn, PublishedRoute routes, bool sequential)
    {
        _turnLimit = turn.Timeout;
        _waiting = new GuestTurns(turn.Requests);
        _routes = routes;
        if (sequential) Become(Idle);
        else Become(Concurrent);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Starts the gate under <paramref name="parent"/> and publishes its first route, before anyone can read it.</summary>
    public static PublishedRoute Start(IActorRefFactory parent, SequentialTurnSettings turn, bool sequential, string name = "gate")
    {
        var routes = new PublishedRoute();
        var gate = parent.ActorOf(Props.Create(() => new SequentialGate(turn, routes, sequential)), name);
        routes.Publish(sequential ? new SequentialRoute(gate) : new ConcurrentRoute(gate));
        return routes;
    }

    /// <summary>Requests go straight to their guests' actors; what still reaches the gate is handed on at once.</summary>
    private void Concurrent()
    {
        // Sent on the sequential route before the switch: joins the concurrent one.
        Receive<Wait>(w => Release(w, (ConcurrentRoute)_routes.Current));
        Receive<PassOn>(p => p.Target.Tell(p.Request)); // already counted on its route
        Receive<SetSequential>(s =>
        {
            if (!s.On)
            {
                Sender.Tell(Switched.Off);
                return;
            }
            var concurrent = (ConcurrentRoute)_routes.Current;
            _routes.Publish(new SequentialRoute(Self)); // first, so a link that finds the old route closed finds this one
            if (!concurrent.Close()) _closing.Add(concurrent);
            _switchingOn.Add(Sender);
            if (_closing.Count == 0) SwitchedOn();
            else Become(Draining);
        });
        Common();
    }

    /// <summary>Switched on: requests wait until nothing that bypassed the gate (or was handed on by it) runs.</summary>
    private void Draining()
    {
        Receive<Wait>(w => _waiting.Enqueue(w));
        Receive<PassOn>(Hold);
        Receive<SetSequential>(s =>
        {
            if (s.On) _switchingOn.Add(Sender);
            else SwitchOff(s);
        });
        Common(whenDrained: () =>
        {
            if (_closing.Count == 0) SwitchedOn();
        });
    }

    private void Idle()
    {
        // Through the turns even when nothing waits, so they know whose turn was last.
        Receive<Wait>(w =>
        {
            _waiting.Enqueue(w);
            Next();
        });
        Receive<PassOn>(p =>
        {
            Hold(p);
            Next();
        });
        Receive<SetSequential>(SwitchOff);
        Common();
    }

    private void Running()
    {
        Receive<Wait>(w => _waiting.Enqueue(w));
        Receive<PassOn>(Hold);
        Receive<TurnEnded>(t => ReferenceEquals(t.Request, _current), t =>
        {
            if (t.Work is { IsSignaled: false } work) WhenDone(t.Request, work);
            else Next();
        });
        Receive<WorkDone>(d => ReferenceEquals(d.Request, _current), _ => Next());
        Receive<TurnTimedOut>(t => ReferenceEquals(t.Request, _current), t =>
        {
            _log.Warning("sequential gate: {Op} (request {RequestId}) held the gate for {Timeout} (pvdrm.host.sequential-turn.timeout); moving on",
                OpTable.NameOf(t.Request.Op), t.Request.RequestId, _turnLimit);
            Next();
        });
        Receive<SetSequential>(SwitchOff);
        Common();
    }

    /// <summary>
    /// What every behaviour hears: the end of turns that outlived a switch off, closed routes
    /// draining, questions; and late news of requests it no longer waits for, which changes nothing.
    /// </summary>
    private void Common(Action? whenDrained = null)
    {
        Receive<TurnEnded>(t => _leftovers.ContainsKey(t.Request), t =>
        {
            if (t.Work is { IsSignaled: false } work) WhenDone(t.Request, work);
            else LeftoverDone(t.Request);
        });
        Receive<WorkDone>(d => _leftovers.ContainsKey(d.Request), d => LeftoverDone(d.Request));
        Receive<Drained>(d =>
        {
            if (d.Route.IsDrained && _closing.Remove(d.Route)) whenDrained?.Invoke();
        });
        Receive<GetState>(_ => Sender.Tell(new State(_routes.Current.Sequential, _waiting.Count, _current)));
        Receive<TurnEnded>(_ => { });
        Receive<WorkDone>(_ => { });
        Receive<TurnTimedOut>(_ => { });
    }

    private void WhenDone(Request request, Native.Gpu.GpuFence work)
    {
        var self = Self;
        work.OnSignaled(_ => self.Tell(new WorkDone(request)));
    }

    private void LeftoverDone(Request request)
    {
        _leftovers.Remove(request, out var route);
        route!.Leave();
    }

    /// <summary>A request that joined the concurrent route waits for a turn instead: it no longer counts there.</summary>
    private void Hold(PassOn p)
    {
        ((ConcurrentRoute)p.Request.Route!).Leave();
        p.Request.Route = _routes.Current;
        _waiting.Enqueue(new Wait(p.Request, p.Target));
    }

    /// <summary>Hands a request on, counted on the concurrent route; its answer leaves it.</summary>
    private static void Release(Wait w, ConcurrentRoute route)
    {
        route.TryEnter(); // the gate's own open route
        w.Request.Route = route;
        w.Target.Tell(w.Request);
    }

    private void SwitchedOn()
    {
        foreach (var asked in _switchingOn) asked.Tell(Switched.On);
        _switchingOn.Clear();
        _log.Info("sequential mode on: one request at a time");
        Next();
    }

    private void SwitchOff(SetSequential s)
    {
        if (s.On)
        {
            Sender.Tell(Switched.On);
            return;
        }
        SwitchOff();
        Sender.Tell(Switched.Off);
    }

    private void SwitchOff()
    {
        Timers.Cancel("turn");
        var concurrent = new ConcurrentRoute(Self);
        // The running request runs on, and counts on the new route until it is complete.
        if (_current != null)
        {
            concurrent.TryEnter();
            _leftovers[_current] = concurrent;
        }
        _current = null;
        // What waits goes on now, each guest's in order, before any link can take the new route.
        while (_waiting.TryDequeue(out var w)) Release(w, concurrent);
        _routes.Publish(concurrent);
        // Those who asked for on meanwhile hear that the mode is off.
        foreach (var asked in _switchingOn) asked.Tell(Switched.Off);
        _switchingOn.Clear();
        _log.Info("sequential mode off: requests run concurrently");
        Become(Concurrent);
    }

    private void Run(Wait w)
    {
        _current = w.Request;
        Timers.StartSingleTimer("turn", new TurnTimedOut(w.Request), _turnLimit);
        w.Target.Tell(w.Request);
        Become(Running);
    }

    private void Next()
    {
        Timers.Cancel("turn");
        _current = null;
        if (_waiting.TryDequeue(out var next)) Run(next);
        else Become(Idle);
    }
}
