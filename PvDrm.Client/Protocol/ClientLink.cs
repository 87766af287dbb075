using System.Buffers;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Protocol;

/// <summary>
/// The requester core every client of the protocol shares (<c>DrmClient</c> and the guest proxy's
/// link to the host): HELLO, request ids (<see cref="RequestIds"/>), the table of requests
/// awaiting a reply, redirects (<see cref="Redirects.TargetOf"/>), failures of reply-less requests
/// (<see cref="ReplyLessErrors"/>) and the session's end. What waits for a reply is an
/// <see cref="IAwaitsReply"/> given when the request is sent, so a reply is matched by its id alone.
/// </summary>
public abstract class ClientLink : IFrameHandler
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, IAwaitsReply> _pending = new();
    private readonly RequestIds _ids = new();
    private readonly ReplyLessErrors? _replyLess;
    private int _replyLessKept; // _replyLess.Count, written under the lock
    private volatile string? _endReason;

    /// <param name="connection">The transport; the subclass starts it once constructed.</param>
    /// <param name="keepsReplyLessErrors">Keep failures of reply-less requests for <see cref="TakeReplyLessError"/>; otherwise they are dropped.</param>
    protected ClientLink(Connection connection, bool keepsReplyLessErrors)
    {
        Connection = connection;
        if (keepsReplyLessErrors) _replyLess = new ReplyLessErrors();
    }

    /// <summary>The connection requests travel on.</summary>
    protected Connection Connection { get; }

    /// <summary>Why the session ended (the host's SHUTDOWN reason, or the connection's), once it has.</summary>
    public string? EndReason => _endReason;

    /// <summary>The frame limit negotiated in HELLO (0 before it).</summary>
    public int MaxFrame { get; protected set; }

    /// <summary>True when buffers can be mapped: descriptors travel all the way from the host (HELLO says so).</summary>
    public bool CanMap { get; private set; }

    /// <summary>The session id the host gave in HELLO.</summary>
    public ulong SessionId { get; private set; }

    /// <summary>True when requests and replies travel in a shared-memory ring (PROTOCOL.md), not only the socket.</summary>
    public bool OnRing => Connection is Native.Io.Ring.RingClientConnection { RingAttached: true };

    /// <summary>
    /// Says HELLO as <paramref name="name"/>; the negotiated limits are then in <see cref="MaxFrame"/>
    /// and <see cref="CanMap"/>. Over a connection that offers a ring (<see cref="Client.RingOffer.Wrap"/>)
    /// the ring is attached when the server's HELLO offers one (<see cref="OnRing"/>), and
    /// <see cref="MaxFrame"/> is held to its slots.
    /// </summary>
    protected async Task<Replies.Hello> SayHelloAsync(string name, string token, CancellationToken cancellationToken)
    {
        var request = new Requests.Hello(ProtocolLimits.Version, 0, (uint)Connection.MaxFrame, name, token);
        var reply = await AskAsync(request).WaitAsync(cancellationToken);
        if (reply.Status < 0) throw Refused(Op.Hello, reply);
        var hello = reply.Read<Replies.Hello>();
        SessionId = hello.SessionId;
        MaxFrame = (int)Math.Min(hello.MaxFrame, (uint)Connection.MaxFrame);
        CanMap = Connection.CanPassFds && (hello.Capabilities & ProtocolLimits.CapabilityMap) != 0;
        if (await Client.RingOffer.AttachAsync(Connection, hello.Capabilities, AskAsync).WaitAsync(cancellationToken) is int slot) MaxFrame = Math.Min(MaxFrame, slot);
        return hello;
    }

    /// <summary>
    /// Sends <paramref name="request"/> with the next request id; its reply, or the loss of the
    /// connection, goes to <paramref name="waiter"/>. Without a waiter the request is reply-less
    /// (<see cref="FrameFlags.NoReply"/>). False, with <paramref name="waiter"/> never called, when the connection is closed.
    /// </summary>
    protected bool Send(Request request, IAwaitsReply? waiter)
    {
        uint id;
        lock (_lock)
        {
            id = _ids.Next(_pending);
            // Entered before sending: the reply may come before Send returns.
            if (waiter != null) _pending[id] = waiter;
        }
        var flags = request.Flags | (waiter == null ? FrameFlags.NoReply : FrameFlags.None);
        if (Transmit(request, id, flags)) return true;
        if (waiter != null) lock (_lock) _pending.Remove(id);
        return false;
    }

    /// <summary>
    /// Sends every request of <paramref name="batch"/> in one write (<see cref="Connection.SendFrames"/>:
    /// on the ring, one doorbell), numbered in order; each reply goes to its waiter, a request
    /// without one is reply-less. False, with no waiter called, when the connection is closed.
    /// </summary>
    protected bool SendAll(IReadOnlyList<(Request Request, IAwaitsReply? Waiter)> batch)
    {
        int size = 0;
        foreach (var (request, _) in batch) size += FrameEncoder.RequestSize(request);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        uint[] ids = ArrayPool<uint>.Shared.Rent(batch.Count);
        try
        {
            lock (_lock)
                for (int i = 0; i < batch.Count; i++)
                {
                    ids[i] = _ids.Next(_pending);
                    if (batch[i].Waiter is { } waiter) _pending[ids[i]] = waiter;
                }
            int at = 0;
            for (int i = 0; i < batch.Count; i++)
            {
                var (request, waiter) = batch[i];
                var flags = request.Flags | (waiter == null ? FrameFlags.NoReply : FrameFlags.None);
                at += FrameEncoder.WriteRequest(request, buffer.AsSpan(at), ids[i], flags);
            }
            if (Connection.SendFrames(buffer.AsSpan(0, at))) return true;
            lock (_lock)
                for (int i = 0; i < batch.Count; i++) _pending.Remove(ids[i]);
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<uint>.Shared.Return(ids);
        }
    }

    /// <summary>Sends <paramref name="request"/> and completes with its reply, failures included; a lost connection faults the task with <see cref="Lost"/>.</summary>
    protected Task<ReplyFrame> AskAsync(Request request)
    {
        var awaited = new AwaitedReply(this, request.Op);
        if (!Send(request, awaited)) awaited.OnLost(EndReason ?? "not connected");
        return awaited.Task;
    }

    /// <summary>The kept failure of an earlier reply-less request on <paramref name="context"/>, taken (null if none).</summary>
    protected ReplyFrame? TakeReplyLessError(uint context)
    {
        // Read without the lock on every request: almost always nothing is kept.
        if (_replyLess == null || Volatile.Read(ref _replyLessKept) == 0) return null;
        lock (_lock)
        {
            var failed = _replyLess.Take(context);
            _replyLessKept = _replyLess.Count;
            return failed;
        }
    }

    /// <summary>How many redirects (EREMOTE) a requester follows before ELOOP: the proxy's upstream always, <c>DrmClient</c> unless its options say otherwise.</summary>
    public const int DefaultMaxRedirects = 3;

    /// <summary>
    /// The node <paramref name="reply"/> (to <paramref name="op"/>) redirects to, or null when it is not
    /// a redirect. Every requester decides here: one that already followed <paramref name="hops"/>
    /// redirects, of at most <paramref name="maxRedirects"/>, gets ELOOP (<see cref="TooManyRedirects"/>) naming this one.
    /// </summary>
    protected string? RedirectTarget(Op op, ReplyFrame reply, int hops, int maxRedirects)
    {
        if (Redirects.TargetOf(reply) is not { } address) return null;
        if (hops >= maxRedirects) throw TooManyRedirects(op, Redirects.TooMany(hops, maxRedirects, reply.Message!));
        return address;
    }

    /// <summary>The ELOOP exception for a redirect past the limit; an <see cref="ErrnoException"/> unless overridden.</summary>
    protected virtual Exception TooManyRedirects(Op op, string message) => new ErrnoException(Errno.ELOOP, message);

    /// <summary>The exception for a request the host refused (HELLO, a probe); an <see cref="ErrnoException"/> unless overridden.</summary>
    protected virtual Exception Refused(Op op, ReplyFrame reply) =>
        new ErrnoException(reply.Status, $"host refused {OpTable.NameOf(op)}: {reply.Message}");

    /// <summary>The exception for a request whose connection ended before its reply came.</summary>
    protected virtual Exception Lost(Op op, string reason) =>
        new ErrnoException(Errno.ECONNRESET, $"connection to the host lost: {reason}");

    /// <summary>An event other than SHUTDOWN (RECLAIM); runs on the event loop, so it must not block.</summary>
    protected virtual void OnEvent(ReplyFrame frame) { }

    /// <summary>The connection is gone, after every waiter was told; <paramref name="reason"/> is <see cref="EndReason"/>.</summary>
    protected virtual void OnEnded(string reason) { }

    private bool Transmit(Request request, uint requestId, FrameFlags flags)
    {
        int size = FrameEncoder.RequestSize(request);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            FrameEncoder.WriteRequest(request, buffer, requestId, flags);
            return Connection.Send(buffer.AsSpan(0, size), request.Fd);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    void IFrameHandler.OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
    {
        var reply = ReplyFrame.Parse(frame, fd, out string? error);
        if (reply == null)
        {
            fd?.Dispose();
            Connection.Close($"malformed frame from the host: {error}");
            return;
        }
        if (reply.IsEvent)
        {
            reply.TakeFd()?.Dispose();
            if (reply.Header.Op == Op.Shutdown) _endReason = $"host closed the session: {reply.Message}";
            else OnEvent(reply);
            return;
        }
        IAwaitsReply? waiter;
        lock (_lock)
        {
            // Nobody waits for a reply-less request's failure: kept for its context's next request, or dropped.
            if (!_pending.Remove(reply.Header.RequestId, out waiter) && _replyLess?.TryKeep(reply) == true)
            {
                Volatile.Write(ref _replyLessKept, _replyLess.Count);
                return;
            }
        }
        if (waiter != null) waiter.OnReply(reply);
        else reply.TakeFd()?.Dispose();
    }

    void IFrameHandler.OnClosed(string reason)
    {
        _endReason ??= reason;
        List<IAwaitsReply> pending;
        lock (_lock)
        {
            pending = _pending.Values.ToList();
            _pending.Clear();
        }
        foreach (var waiter in pending) waiter.OnLost(_endReason);
        OnEnded(_endReason);
    }

    /// <summary>A request whose caller awaits its reply as a task.</summary>
    private sealed class AwaitedReply(ClientLink link, Op op) : IAwaitsReply
    {
        private readonly TaskCompletionSource<ReplyFrame> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ReplyFrame> Task => _reply.Task;

        public void OnReply(ReplyFrame reply) => _reply.TrySetResult(reply);

        public void OnLost(string reason) => _reply.TrySetException(link.Lost(op, reason));
    }
}
