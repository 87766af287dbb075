using PvDrm.Protocol;

namespace PvDrm.Actors.Guest;

/// <summary>
/// A request on its way to the host: its reply goes to <see cref="Waiter"/>; without one it is
/// cleanup sent without a reply, taking no slot.
/// </summary>
internal sealed record UpstreamItem(Request Request, UpstreamLink.Forwarded? Waiter)
{
    /// <summary>What it weighs in the queue: its frame.</summary>
    public long Bytes { get; } = Request.Header.Length;

    /// <summary>It wants a reply, so it takes a slot in the window.</summary>
    public bool WantsReply => Waiter != null;

    /// <summary>It gives something back to the host: never refused for queue space, or it would leak.</summary>
    public bool Releases => Request.Op is Op.GemClose or Op.CloseContext or Op.ChannelFree or Op.CpuFini;
}
