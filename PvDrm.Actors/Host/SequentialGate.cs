using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Protocol;
using static PvDrm.Actors.Host.GateProtocol;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm/gate</c>, present when <c>sequential = on</c>: every request of every guest
/// waits here and runs alone, to completion, in arrival order. A request is complete when it
/// has been answered and the GPU work it started (a PUSHBUF's) has executed. Same results as
/// concurrent mode, no parallelism: PVDRM's back-end behaviour, kept for debugging and comparison.
/// </summary>
internal sealed class SequentialGate : ReceiveActor, IWithTimers
{
    private readonly TimeSpan _turnLimit;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<Gated> _waiting = new();
    private Request? _current;

    public SequentialGate(TimeSpan turnLimit)
    {
        _turnLimit = turnLimit;
        Become(Idle);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TimeSpan turnLimit) => Akka.Actor.Props.Create(() => new SequentialGate(turnLimit));

    private void Idle()
    {
        Receive<Gated>(Run);
    }

    private void Running()
    {
        Receive<Gated>(g => _waiting.Enqueue(g));
        Receive<Completed>(c =>
        {
            if (!ReferenceEquals(c.Request, _current)) return;
            if (c.Work is { IsSignaled: false } work)
            {
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
            _log.Warning("sequential gate: {0} (request {1}) held the gate for {2}; moving on",
                OpTable.NameOf(t.Request.Op), t.Request.RequestId, _turnLimit);
            Next();
        });
    }

    private void Run(Gated g)
    {
        _current = g.Request;
        Timers.StartSingleTimer("turn", new TurnTimedOut(g.Request), _turnLimit);
        g.Target.Tell(g.Request);
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
