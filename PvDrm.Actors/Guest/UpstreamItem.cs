using Akka.Actor;
using PvDrm.Protocol;

namespace PvDrm.Actors.Guest;

/// <summary>
/// A request on its way to the host: its reply goes to <see cref="Owner"/> with
/// <see cref="AppRequest"/>; without an owner it is cleanup sent without a reply, taking no slot.
/// </summary>
internal sealed record UpstreamItem(Request Request, IActorRef? Owner, Request? AppRequest)
{
    /// <summary>What it weighs in the queue: its frame.</summary>
    public long Bytes { get; } = Request.Header.Length;

    /// <summary>It gives something back to the host: never refused for queue space, or it would leak.</summary>
    public bool Releases => Request.Op is Op.GemClose or Op.CloseContext or Op.ChannelFree or Op.CpuFini;
}
