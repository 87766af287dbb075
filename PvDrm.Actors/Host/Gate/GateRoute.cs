using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// Where the guest links send requests, as the gate last published it (<see cref="PublishedRoute"/>):
/// immutable, replaced by the gate when the mode switches. A request remembers the route it
/// took, and that route hears when the request is answered.
/// </summary>
internal abstract class GateRoute(IActorRef gate) : IRequestRoute
{
    /// <summary>The gate that published this route.</summary>
    public IActorRef Gate { get; } = gate;

    public abstract bool Sequential { get; }

    /// <summary>A request that took this route was answered; <paramref name="work"/>: GPU work it still runs.</summary>
    public abstract void Answered(Request request, GpuFence? work);
}
