using System.Buffers;
using System.Diagnostics;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Protocol;

/// <summary>
/// The serving end of one connection, shared by the host (guests connect) and the guest proxy
/// (applications connect). On the event loop it decodes each frame (copy, then validate),
/// answers malformed ones at once and ends the connection on a broken stream, insists on HELLO
/// first (before it, any error is answered once and ends the connection), and delivers the rest.
/// Answers come back through <see cref="Complete"/> from any thread.
/// It counts requests in flight and stops reading at the limit, so a flooding peer queues in its
/// own socket rather than in our memory.
/// </summary>
public abstract partial class ServerLink : IFrameHandler, IReplySink
{
    private readonly ProtocolLimits _limits;
    private readonly int _maxInFlight;
    private volatile bool _admitted;
    private bool _helloSeen;
    private int _inFlight;
    private long _served;
    private readonly long[] _errors = new long[Errno.Limit];

    /// <summary>The serving end of <paramref name="connection"/>, decoding within <paramref name="limits"/>, with at most <paramref name="maxInFlight"/> requests unanswered.</summary>
    protected ServerLink(Connection connection, ProtocolLimits limits, int maxInFlight)
    {
        Connection = connection;
        _limits = limits;
        _maxInFlight = maxInFlight;
    }

    /// <summary>The connection served.</summary>
    public Connection Connection { get; }

    /// <summary>Negotiated in HELLO: the smaller of our and the peer's frame limits.</summary>
    public int MaxFrame { get; private set; }

    /// <summary>The most payload one reply can carry (GEM_READ chunks).</summary>
    public int MaxReplyPayload => MaxFrame - FrameEncoder.ReplyPrefix - FrameEncoder.MaxMessageBytes;

    /// <summary>Requests received and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests answered, successfully or not (malformed frames included).</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>How long admitted requests took, from decoding to the reply (or completion, when reply-less).</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Refusals so far, by errno name ("ENOENT" → 3).</summary>
    public IReadOnlyDictionary<string, long> ErrorsByKind()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (int errno = 1; errno < _errors.Length; errno++)
            if (Interlocked.Read(ref _errors[errno]) is var n and > 0) counts[Errno.Name(errno)] = n;
        return counts;
    }

    /// <summary>A request was refused; subclasses log it (with care: a guest decides how often).</summary>
    protected virtual void OnRefused(Op op, uint context, int errno, string message) { }

    /// <summary>Starts receiving.</summary>
    public void Start()
    {
        MaxFrame = Connection.MaxFrame;
        Connection.Start(this);
    }

    /// <summary>HELLO arrived (reading is paused): call <see cref="Admit"/> or <see cref="Refuse(Requests.Hello, int, string)"/>.</summary>
    protected abstract void OnHello(Requests.Hello hello);

    /// <summary>Hands an admitted request (its reply address set) to whoever runs it.</summary>
    protected abstract void Deliver(Request request);

    /// <summary>Where answers to <paramref name="request"/> go; this link unless a subclass interposes.</summary>
    protected virtual IReplySink ReplySinkFor(Request request) => this;

    /// <summary>The connection is gone (<paramref name="reason"/>).</summary>
    public abstract void OnClosed(string reason);

    void IFrameHandler.OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
    {
        if (!FrameDecoder.TryDecodeRequest(frame, _limits, out var request, out var error))
        {
            fd?.Dispose();
            if (error.Fatal) Connection.Close($"protocol error: {error.Message}");
            else RefuseBeforeHello(error.Header, error.Errno, error.Message);
            return;
        }
        // Only the ops that take a descriptor may bring one, and they must.
        bool takesFd = OpTable.Find(request!.Op)!.TakesFd;
        if (takesFd != (fd != null))
        {
            fd?.Dispose();
            RefuseBeforeHello(request.Header, Errno.EINVAL, takesFd
                ? $"{OpTable.NameOf(request.Op)} needs a descriptor sent with the frame (SCM_RIGHTS)"
                : $"{OpTable.NameOf(request.Op)} does not take a descriptor; one was sent and has been closed");
            return;
        }
        if (fd != null) request.AttachFd(fd);

        if (_admitted)
        {
            if (request is Requests.Hello) Refuse(request.Header, Errno.EINVAL, "HELLO was already accepted on this connection");
            else if (request is Requests.RingAttach attach) AttachRing(attach);
            else Dispatch(request!);
            return;
        }

        if (request is not Requests.Hello hello || _helloSeen)
        {
            Refuse(request!.Header, Errno.EACCES, $"{OpTable.NameOf(request.Op)} before HELLO was accepted: HELLO must come first");
            Connection.Close("request before HELLO");
            return;
        }
        // Nothing else is read until HELLO is decided.
        _helloSeen = true;
        Connection.PauseReceiving();
        MaxFrame = hello.MaxFrame == 0 ? Connection.MaxFrame : (int)Math.Min(hello.MaxFrame, (uint)Connection.MaxFrame);
        OnHello(hello);
    }

    /// <summary>
    /// Answers a malformed request; before HELLO was accepted the peer gets that one answer and
    /// the connection closes, so an unadmitted peer can make the host neither log nor queue more.
    /// </summary>
    private void RefuseBeforeHello(FrameHeader header, int errno, string message)
    {
        Refuse(header, errno, message);
        if (!_admitted) Connection.Close($"malformed request before HELLO: {message}");
    }

    /// <summary>Lowers the negotiated frame limit (a proxy can pass on no more than its own host link carries).</summary>
    protected void CapMaxFrame(int max) => MaxFrame = Math.Min(MaxFrame, max);

    /// <summary>Accepts HELLO with <paramref name="reply"/> and starts reading requests.</summary>
    public void Admit(Requests.Hello hello, in Replies.Hello reply)
    {
        Span<byte> payload = stackalloc byte[reply.Size];
        var w = new WireWriter(payload);
        reply.Write(ref w);
        Connection.Admitted();
        _admitted = true;
        SendReply(Op.Hello, hello.RequestId, 0, 0, payload, null, null);
        Connection.ResumeReceiving();
    }

    /// <summary>Refuses HELLO with a reason and disconnects.</summary>
    public void Refuse(Requests.Hello hello, int errno, string message)
    {
        Refuse(hello.Header, errno, message);
        Connection.Close($"refused: {message}");
    }

    /// <summary>Answers a request that never reached an actor with an error.</summary>
    private void Refuse(FrameHeader header, int errno, string message)
    {
        Count(header.Op, header.Context, -Math.Abs(errno), message);
        SendReply(header.Op, header.RequestId, header.Context, -Math.Abs(errno), default, message, null);
    }

    private void Count(Op op, uint context, int status, string? message)
    {
        Interlocked.Increment(ref _served);
        if (status >= 0) return;
        int errno = Math.Min(-status, _errors.Length - 1);
        Interlocked.Increment(ref _errors[errno]);
        OnRefused(op, context, errno, message ?? "");
    }

    /// <summary>Tells the peer an unsolicited event with a payload (e.g. RECLAIM).</summary>
    public void SendEvent<T>(Op op, in T payload) where T : IReplyPayload<T>
    {
        Span<byte> buffer = stackalloc byte[FrameEncoder.ReplyPrefix + payload.Size];
        int length = FrameEncoder.WriteReply(buffer, op, 0, 0, payload);
        // Mark it an event, not a reply.
        new FrameHeader((uint)length, op, FrameFlags.Event, 0, 0).Write(buffer);
        Connection.Send(buffer[..length]);
    }

    /// <summary>Tells the peer an event (e.g. SHUTDOWN) and closes the connection.</summary>
    public void CloseWith(Op eventOp, int errno, string reason)
    {
        Connection.Send(FrameEncoder.EncodeEvent(eventOp, 0, -Math.Abs(errno), reason));
        Connection.Close(reason);
    }

    private void Dispatch(Request request)
    {
        request.ReceivedAt = Stopwatch.GetTimestamp();
        request.ReplyTo = ReplySinkFor(request);
        if (Interlocked.Increment(ref _inFlight) >= _maxInFlight)
        {
            Connection.PauseReceiving();
            // A reply may have gone out between the increment and the pause: do not stay paused then.
            // The barrier keeps the count's read after the pause's write (a reply reads them the other way).
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _inFlight) < _maxInFlight) Connection.ResumeReceiving();
        }
        Deliver(request);
    }

    /// <summary>Sends the reply to <paramref name="request"/>: <paramref name="status"/>, <paramref name="payload"/>, <paramref name="message"/>, a descriptor and a fence to wait for first.</summary>
    public void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, GpuFence? work)
    {
        if (Interlocked.Decrement(ref _inFlight) < _maxInFlight) Connection.ResumeReceiving();
        if (status == -Errno.ECANCELED && CancelledBecause(request) is { } cause) (status, message) = (-cause.Errno, cause.Message);
        Count(request.Op, request.Context, status, message);
        request.TakeFd()?.Dispose(); // a descriptor the handler did not keep
        // Reply-less requests are answered only when they fail; either way they are done.
        if (status != 0 || !request.WantsNoReply)
        {
            if (fd != null && !Connection.CanPassFds)
            {
                status = -Errno.EOPNOTSUPP;
                message = $"{OpTable.NameOf(request.Op)} passes a descriptor, which a {Connection.Transport} connection cannot carry; use GEM_READ/GEM_WRITE";
                payload = default;
                fd = null;
            }
            SendReply(request.Op, request.RequestId, request.Context, status, payload, message, fd);
        }
        Latency.Record(request.ReceivedAt);
        OnAnswered(request, status, work);
    }

    /// <summary>
    /// A delivered request is done: answered, or reply-less and successful (<paramref name="work"/>:
    /// GPU work it still runs). <paramref name="status"/> is 0 or a negative errno.
    /// </summary>
    protected virtual void OnAnswered(Request request, int status, GpuFence? work) { }

    /// <summary>
    /// A request was cancelled because what it addressed was closed: the reason the guest should
    /// hear instead of ECANCELED (a detached device: ENODEV), or null.
    /// </summary>
    protected virtual (int Errno, string Message)? CancelledBecause(Request request) => null;

    private void SendReply(Op op, uint requestId, uint context, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd)
    {
        int size = FrameEncoder.ReplySize(payload.Length, message);
        if (size > MaxFrame)
        {
            // GEM_READ lengths are checked against MaxReplyPayload, so only a bug gets here.
            (status, message, fd) = (-Errno.EMSGSIZE, $"reply of {size} bytes exceeds the {MaxFrame}-byte frame limit", null);
            payload = default;
            size = FrameEncoder.ReplySize(0, message);
        }
        byte[]? rented = null;
        Span<byte> buffer = size <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(size));
        int length = FrameEncoder.WriteReply(buffer, op, requestId, context, status, payload, message);
        Connection.Send(buffer[..length], fd);
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
    }
}
