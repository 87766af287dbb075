using System.Buffers;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Protocol;

/// <summary>
/// The requesting end of one connection, shared by <c>DrmClient</c> and the proxy's link to the
/// host: it numbers and sends requests, parses what comes back, records a SHUTDOWN event's
/// reason, and hands each reply to the subclass to match with its request.
/// </summary>
public abstract class ClientLink : IFrameHandler
{
    private volatile string? _endReason;

    protected ClientLink(Connection connection)
    {
        Connection = connection;
    }

    protected Connection Connection { get; }

    /// <summary>Why the session ended (the host's SHUTDOWN reason, or the connection's), once it has.</summary>
    public string? EndReason => _endReason;

    /// <summary>Encodes <paramref name="request"/> with <paramref name="requestId"/> and <paramref name="flags"/> and sends it.</summary>
    protected bool Send(Request request, uint requestId, FrameFlags flags)
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

    /// <summary>A reply (never an event); whoever takes its descriptor owns it, an untaken one is the subclass's to dispose.</summary>
    protected abstract void OnReply(ReplyFrame reply);

    /// <summary>An event other than SHUTDOWN (RECLAIM); runs on the event loop, so it must not block.</summary>
    protected virtual void OnEvent(ReplyFrame frame) { }

    /// <summary>The connection is gone; <paramref name="reason"/> is <see cref="EndReason"/>.</summary>
    protected abstract void OnEnded(string reason);

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
        OnReply(reply);
    }

    void IFrameHandler.OnClosed(string reason)
    {
        _endReason ??= reason;
        OnEnded(_endReason);
    }
}
