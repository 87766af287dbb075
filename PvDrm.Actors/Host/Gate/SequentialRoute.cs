using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// Sequential mode: every request waits at the gate for its guest's turn, and the end of each turn
/// is told to the gate by the actor that answered the request.
/// </summary>
internal sealed class SequentialRoute(IActorRef gate) : GateRoute(gate)
{
    public override bool Sequential => true;

    public override void Answered(Request request, GpuFence? work) =>
        Gate.Tell(new GateProtocol.TurnEnded(request, work), ActorCell.GetCurrentSelfOrNoSender());
}
