using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// Concurrent mode: requests go straight to their guest's actor. The route counts the requests
/// on it until the gate closes it (switching sequential on); a closed route takes no more, and the
/// last request to finish on it (answered, and its GPU work done) tells the gate
/// <see cref="GateProtocol.Drained"/>. So the gate runs nothing alone while anything that
/// bypassed it still runs, without any flag the links would have to re-check.
/// </summary>
internal sealed class ConcurrentRoute(IActorRef gate) : GateRoute(gate)
{
    private const int Closed = int.MinValue;
    private int _state; // requests on the route, plus Closed once closed

    public override bool Sequential => false;

    /// <summary>Counts a request onto the route; false when the gate has closed it (its successor is published).</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _state) > 0) return true;
        Leave();
        return false;
    }

    /// <summary>A request on the route has finished.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _state) == Closed) Gate.Tell(new GateProtocol.Drained(this));
    }

    /// <summary>True once closed with nothing on it.</summary>
    public bool IsDrained => Volatile.Read(ref _state) == Closed;

    /// <summary>Closes the route (by the gate, after publishing its successor); true when nothing is on it.</summary>
    internal bool Close() => Interlocked.Or(ref _state, Closed) == 0;

    public override void Answered(Request request, GpuFence? work)
    {
        if (work is { IsSignaled: false }) work.OnSignaled(_ => Leave()); // done when its GPU work is
        else Leave();
    }
}
