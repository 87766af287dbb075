using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using static PvDrm.Actors.Host.GateProtocol;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm/gate</c>: with <c>sequential = on</c>, every request of every guest waits here
/// and runs alone, to completion. Guests take turns of up to <c>sequential-turn.requests</c>
/// requests each (<see cref="GuestTurns"/>), each guest's requests in arrival order; a request
/// holds the gate until it is complete or for <c>sequential-turn.timeout</c> at most. A request
/// is complete when it has been answered and the GPU work it started
/// (a PUSHBUF's) has executed. Same results as concurrent mode, no parallelism: PVDRM's back-end
/// behaviour, kept for debugging and comparison, without letting one guest's backlog own it.
///
/// The mode can be switched while guests run. Turning it on, the gate runs nothing until every
/// request that bypassed it has finished (so nothing overlaps, and no guest's later request
/// overtakes an earlier one). Turning it off, the gate passes what it holds and what still
/// reaches it straight on; links stop sending through it once their own gated requests are answered.
/// </summary>
internal sealed class SequentialGate : ReceiveActor, IWithTimers
{
    private readonly TimeSpan _turnLimit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly GuestTurns _waiting;
    private HostMode _mode = null!;
    private Request? _current;
    private bool _currentAnswered; // answered; only its GPU work is still running
    private Request? _runningOn;    // the request that ran when the gate switched off, if only its GPU work was left
    private IActorRef? _switchedOn;
    private int _passedOn; // requests forwarded while concurrent, not yet answered

    public SequentialGate(SequentialTurnSettings turn)
    {
        _turnLimit = turn.Timeout;
        _waiting = new GuestTurns(turn.Requests);
        Receive<HostMode>(mode =>
        {
            _mode = mode;
            if (mode.Sequential) BecomeDraining();
            else Become(PassingOn);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SequentialTurnSettings turn) => Akka.Actor.Props.Create(() => new SequentialGate(turn));

    /// <summary>Concurrent mode: forward at once, counting what is still running.</summary>
    private void PassingOn()
    {
        Receive<Gated>(g =>
        {
            _passedOn++;
            g.Target.Tell(g.Request);
        });
        Receive<Completed>(WhenPassedOnDone);
        Receive<WorkDone>(d => ReferenceEquals(d.Request, _runningOn), LeftoverDone);
        Receive<PassedOnDone>(_ => _passedOn--);
        Receive<SetSequential>(s =>
        {
            if (!s.On)
            {
                Sender.Tell(true);
                return;
            }
            _mode.Sequential = true;
            _switchedOn = Sender;
            BecomeDraining();
        });
        IgnoreLate();
    }

    /// <summary>A request passed on while concurrent is done once answered and its GPU work has run.</summary>
    private void WhenPassedOnDone(Completed c)
    {
        if (c.Work is { IsSignaled: false } work)
        {
            var self = Self;
            work.OnSignaled(_ => self.Tell(PassedOnDone.Instance));
        }
        else Self.Tell(PassedOnDone.Instance);
    }

    /// <summary>The GPU work of the request that was running when the gate switched off has finished.</summary>
    private void LeftoverDone(WorkDone _)
    {
        _runningOn = null;
        Self.Tell(PassedOnDone.Instance);
    }

    private sealed record PassedOnDone
    {
        public static PassedOnDone Instance { get; } = new();
    }

    /// <summary>Messages about requests of an earlier state arrive late; they change nothing.</summary>
    private void IgnoreLate()
    {
        Receive<Drained>(_ => { });
        Receive<WorkDone>(_ => { });
        Receive<TurnTimedOut>(_ => { });
        Receive<Completed>(_ => { });
    }

    /// <summary>Switched on: hold everything until nothing that bypassed the gate (or passed it) is running.</summary>
    private void BecomeDraining()
    {
        Become(Draining);
        if (_mode.DirectInFlight == 0 && _passedOn == 0) Self.Tell(Drained.Instance);
    }

    private void Draining()
    {
        Receive<Gated>(g => _waiting.Enqueue(g));
        Receive<Completed>(WhenPassedOnDone);
        Receive<WorkDone>(d => ReferenceEquals(d.Request, _runningOn), LeftoverDone);
        Receive<PassedOnDone>(_ =>
        {
            if (--_passedOn == 0 && _mode.DirectInFlight == 0) Self.Tell(Drained.Instance);
        });
        Receive<Drained>(_ =>
        {
            if (_mode.DirectInFlight != 0 || _passedOn != 0) return;
            _switchedOn?.Tell(true);
            _switchedOn = null;
            _log.Info("sequential mode on: one request at a time");
            Next();
        });
        Receive<SetSequential>(SwitchOff);
        IgnoreLate();
    }

    private void Idle()
    {
        // Through the turns even when nothing waits, so they know whose turn was last.
        Receive<Gated>(g =>
        {
            _waiting.Enqueue(g);
            Next();
        });
        Receive<SetSequential>(SwitchOff);
        IgnoreLate();
    }

    private void Running()
    {
        Receive<Gated>(g => _waiting.Enqueue(g));
        Receive<Completed>(c =>
        {
            if (!ReferenceEquals(c.Request, _current)) return;
            if (c.Work is { IsSignaled: false } work)
            {
                _currentAnswered = true;
                var self = Self;
                var request = c.Request;
                work.OnSignaled(_ => self.Tell(new WorkDone(request)));
            }
            else Next();
        });
        Receive<WorkDone>(d =>
        {
            if (ReferenceEquals(d.Request, _current)) Next();
        });
        Receive<TurnTimedOut>(t =>
        {
            if (!ReferenceEquals(t.Request, _current)) return;
            _log.Warning("sequential gate: {Op} (request {RequestId}) held the gate for {Timeout} (pvdrm.host.sequential-turn.timeout); moving on",
                OpTable.NameOf(t.Request.Op), t.Request.RequestId, _turnLimit);
            Next();
        });
        Receive<SetSequential>(SwitchOff);
        IgnoreLate();
    }

    private void SwitchOff(SetSequential s)
    {
        if (s.On)
        {
            Sender.Tell(true);
            return;
        }
        _mode.Sequential = false;
        Timers.Cancel("turn");
        // What waits goes on now, each guest's in order; the request running keeps running, and its end is
        // counted beside anything still out from an earlier concurrent period: its answer (a
        // Completed) or, when it was answered already, its GPU work (a WorkDone) is yet to come.
        if (_current != null)
        {
            _passedOn++;
            if (_currentAnswered) _runningOn = _current;
        }
        _current = null;
        _currentAnswered = false;
        while (_waiting.TryDequeue(out var g))
        {
            _passedOn++;
            g.Target.Tell(g.Request);
        }
        _log.Info("sequential mode off: requests run concurrently");
        Sender.Tell(true);
        Become(PassingOn);
    }

    private void Run(Gated g)
    {
        _current = g.Request;
        _currentAnswered = false;
        Timers.StartSingleTimer("turn", new TurnTimedOut(g.Request), _turnLimit);
        g.Target.Tell(g.Request);
        Become(Running);
    }

    private void Next()
    {
        Timers.Cancel("turn");
        _current = null;
        _currentAnswered = false;
        if (_waiting.TryDequeue(out var next)) Run(next);
        else Become(Idle);
    }
}
