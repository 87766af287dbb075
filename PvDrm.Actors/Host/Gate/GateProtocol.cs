using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host.Gate;

/// <summary>The sequential gate's conversation, grouped by who speaks.</summary>
internal static class GateProtocol
{
    // ---- From the guest links, following the route the gate published ----

    /// <summary>A request on the sequential route: it waits for its guest's turn, then goes to <paramref name="Target"/>.</summary>
    public sealed record Wait(Request Request, IActorRef Target);

    /// <summary>
    /// A request on the concurrent route whose guest still has an earlier request going through
    /// the gate: it follows that one through here, so it cannot overtake it.
    /// </summary>
    public sealed record PassOn(Request Request, IActorRef Target);

    // ---- From the actor that ran a request the gate handed out ----

    /// <summary>The request was answered; <see cref="Work"/> is GPU work it still runs (a PUSHBUF's).</summary>
    public sealed record TurnEnded(Request Request, GpuFence? Work);

    // ---- From the gate to itself ----

    /// <summary>The GPU work of a request the gate waits for has finished.</summary>
    public sealed record WorkDone(Request Request);

    /// <summary>The running request has held the gate for <c>sequential-turn.timeout</c>.</summary>
    public sealed record TurnTimedOut(Request Request);

    /// <summary>The last request on a closed concurrent route has finished.</summary>
    public sealed record Drained(ConcurrentRoute Route);

    // ---- From the operator (`pvdrm-host set sequential on|off`) ----

    /// <summary>Switch modes; answered with <see cref="Switched"/> once the switch took effect.</summary>
    public sealed record SetSequential(bool On);

    /// <summary>The mode now in effect (switching on: once nothing that bypassed the gate is running).</summary>
    public sealed record Switched(bool Sequential)
    {
        public static Switched On { get; } = new(true);

        public static Switched Off { get; } = new(false);
    }

    /// <summary>Asks what the gate holds; answered with <see cref="State"/>.</summary>
    public sealed record GetState
    {
        public static GetState Instance { get; } = new();
    }

    /// <param name="Waiting">Requests waiting for their turn.</param>
    /// <param name="Running">The request whose turn it is, if any.</param>
    public sealed record State(bool Sequential, int Waiting, Request? Running);
}
