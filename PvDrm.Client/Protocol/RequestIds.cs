namespace PvDrm.Protocol;

/// <summary>
/// The request ids of one connection's requester: every request (HELLO, probes, forwarded and
/// reply-less ones) takes the next id of one counter. <see cref="Event"/> is never a request's,
/// and after the counter wraps an id whose reply is still awaited is skipped. Not thread-safe:
/// <see cref="ClientLink"/> numbers under its lock.
/// </summary>
public sealed class RequestIds
{
    /// <summary>The id events carry (RECLAIM, SHUTDOWN): no request has it.</summary>
    public const uint Event = 0;

    private uint _last;

    /// <summary>The next id that is neither <see cref="Event"/> nor one of <paramref name="inUse"/>.</summary>
    public uint Next(IReadOnlyDictionary<uint, IAwaitsReply> inUse)
    {
        do _last++;
        while (_last == Event || inUse.ContainsKey(_last));
        return _last;
    }
}
