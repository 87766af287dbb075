using Akka.Actor;

namespace PvDrm.Actors.Host;

/// <summary>
/// Sequential or concurrent, switchable while guests run. Links consult it for every request;
/// the gate (which always exists) uses <see cref="DirectInFlight"/> to wait until requests that
/// bypassed it have finished before it runs anything one at a time.
/// </summary>
internal sealed class HostMode
{
    private volatile bool _sequential;
    private long _directInFlight;

    public HostMode(bool sequential, IActorRef gate)
    {
        _sequential = sequential;
        Gate = gate;
    }

    public IActorRef Gate { get; }

    public bool Sequential
    {
        get => _sequential;
        set => _sequential = value;
    }

    /// <summary>Requests dispatched straight to guest actors and not answered yet.</summary>
    public long DirectInFlight => Interlocked.Read(ref _directInFlight);

    public void DirectStarted() => Interlocked.Increment(ref _directInFlight);

    /// <summary>A direct request was answered; the last one while sequential wakes the gate.</summary>
    public void DirectDone()
    {
        if (Interlocked.Decrement(ref _directInFlight) == 0 && _sequential) Gate.Tell(GateProtocol.Drained.Instance);
    }
}
