using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>
/// A decoded guest request: the header fields every request carries plus the op's own fields
/// (see <see cref="Requests"/>). Immutable; the proxy rewrites ids with <c>with</c>.
/// </summary>
public abstract record Request
{
    private uint _requestId, _context;
    private FrameFlags _flags;

    /// <summary>The id the sender gave it (a requester assigns its own when sending).</summary>
    public uint RequestId { get => _requestId; init => _requestId = value; }

    /// <summary>The guest's context id (0 for session and device operations).</summary>
    public uint Context { get => _context; init => _context = value; }

    /// <summary>The header's flags as sent or received.</summary>
    public FrameFlags Flags { get => _flags; init => _flags = value; }

    /// <summary>Sets the header fields on a request the decoder has just built, before anyone else sees it.</summary>
    internal void Stamp(in FrameHeader header)
    {
        _requestId = header.RequestId;
        _context = header.Context;
        _flags = header.Flags;
    }

    /// <summary>The operation.</summary>
    public abstract Op Op { get; }

    /// <summary>True when the guest asked for an answer only on failure.</summary>
    public bool WantsNoReply => (Flags & FrameFlags.NoReply) != 0;

    /// <summary>Bytes of the body as <see cref="WriteBody"/> writes it.</summary>
    public abstract int BodySize { get; }

    /// <summary>Writes the body after the header.</summary>
    public abstract void WriteBody(ref WireWriter writer);

    /// <summary>The header this request is sent with.</summary>
    public FrameHeader Header => new((uint)(FrameHeader.Size + BodySize), Op, Flags, RequestId, Context);

    // Where the answer goes: set by whoever received the request, taken exactly once by whoever
    // answers it. Not on the wire and not part of equality.
    private IReplySink? _replyTo;

    internal IReplySink? ReplyTo
    {
        get => Volatile.Read(ref _replyTo);
        set => _replyTo = value;
    }

    // A descriptor that travelled with the request (SCM_RIGHTS), for the ops that take one
    // (PRIME_IMPORT). Owned by the request until someone takes it; not part of equality.
    private FileDescriptor? _fd;

    /// <summary>The descriptor sent with this request (PRIME_IMPORT), if any.</summary>
    public FileDescriptor? Fd { get => _fd; init => _fd = value; }

    internal void AttachFd(FileDescriptor fd) => _fd = fd;

    /// <summary>When the link handed the request on (<see cref="System.Diagnostics.Stopwatch"/> timestamp), for its latency.</summary>
    internal long ReceivedAt { get; set; }

    /// <summary>The route the host's gate had published when this request took it; it hears of the answer.</summary>
    internal IRequestRoute? Route { get; set; }

    /// <summary>Takes ownership of the descriptor (null if none, or already taken).</summary>
    public FileDescriptor? TakeFd() => Interlocked.Exchange(ref _fd, null);

    /// <summary>Claims the right to answer; null when the request has been answered already.</summary>
    internal IReplySink? TakeReplyTo() => Interlocked.Exchange(ref _replyTo, null);

    /// <summary>Requests are equal when their fields and header fields are.</summary>
    public virtual bool Equals(Request? other) =>
        other is not null && EqualityContract == other.EqualityContract
        && _requestId == other._requestId && _context == other._context && _flags == other._flags;

    /// <summary>A hash of the fields <see cref="Equals(Request?)"/> compares.</summary>
    public override int GetHashCode() => HashCode.Combine(EqualityContract, _requestId, _context, _flags);
}
