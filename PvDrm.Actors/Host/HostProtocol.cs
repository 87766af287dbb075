using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host;

/// <summary>The sequential gate's conversation.</summary>
internal static class GateProtocol
{
    /// <summary>A request waiting for its turn, and the actor that will run it.</summary>
    public sealed record Gated(Request Request, Akka.Actor.IActorRef Target);

    /// <summary>The current request was answered; <see cref="Work"/> is GPU work it still runs.</summary>
    public sealed record Completed(Request Request, GpuFence? Work);

    /// <summary>The current request's GPU work finished.</summary>
    public sealed record WorkDone(Request Request);

    /// <summary>The current request has held the gate longer than the request timeout.</summary>
    public sealed record TurnTimedOut(Request Request);

    /// <summary>No request that bypassed the gate is in flight any more.</summary>
    public sealed record Drained
    {
        public static Drained Instance { get; } = new();
    }

    /// <summary>Switch modes (`pvdrm-host set sequential`); answered with true once the switch has taken effect.</summary>
    public sealed record SetSequential(bool On);
}
