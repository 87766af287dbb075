namespace PvDrm.Protocol;

/// <summary>
/// Failures of reply-less requests (<see cref="FrameFlags.NoReply"/>): the host answers those only
/// when they fail, with an id nobody waits for. The first failure per context is kept until the
/// next request on that context takes it, so it is raised there instead of lost.
/// Not thread-safe: <see cref="ClientLink"/> uses it under its lock.
/// </summary>
internal sealed class ReplyLessErrors
{
    private readonly Dictionary<uint, ReplyFrame> _byContext = new();

    /// <summary>Keeps <paramref name="reply"/> if it is a failure inside a context; false if it is not one to keep.</summary>
    public bool TryKeep(ReplyFrame reply)
    {
        if (reply.Status >= 0 || reply.Header.Context == 0) return false;
        if (!_byContext.TryAdd(reply.Header.Context, reply)) reply.TakeFd()?.Dispose();
        return true;
    }

    /// <summary>Failures kept.</summary>
    public int Count => _byContext.Count;

    public ReplyFrame? Take(uint context) => context != 0 && _byContext.Remove(context, out var failed) ? failed : null;
}
