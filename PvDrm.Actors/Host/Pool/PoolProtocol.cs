using Akka.Actor;

namespace PvDrm.Actors.Host.Pool;

/// <summary>The pool actor's conversation.</summary>
internal static class PoolProtocol
{
    /// <summary>Place a guest on <c>node/device</c>, or <c>none</c>; answered with a control response.</summary>
    public sealed record Assign(string Guest, string Placement, string Why);

    /// <summary>Where a guest goes: its placement as a majority of nodes has it, else <paramref name="IfUnplaced"/>, recorded on a majority.</summary>
    public sealed record Place(string Guest, string IfUnplaced);

    public sealed record Placed(string Placement);

    /// <summary>The pool as seen from here, for `status --cluster`.</summary>
    public sealed record GetStatus;

    /// <summary>This node is leaving: move its guests elsewhere first; answered with <see cref="Done"/>.</summary>
    public sealed record Drain;

    public sealed record Done;

    /// <summary>To the guest registry: the pool actor exists.</summary>
    public sealed record Started(IActorRef Pool);

    /// <summary>To the guest registry: the pool changed (placements, nodes).</summary>
    public sealed record ViewChanged(PoolView View);

    /// <summary>From the guest registry: the guests connected to this node now (published with its load).</summary>
    public sealed record GuestsHere(IReadOnlyList<string> Guests);

    internal sealed record PublishLoad;
}
