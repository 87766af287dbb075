using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Protocol;

namespace PvDrm.Tests.Support;

/// <summary>
/// A host of a misconfigured pool: it admits every HELLO, then answers every other request with
/// a redirect (EREMOTE, PROTOCOL.md "Redirects") to its own address, so a requester that follows
/// redirects without a limit would loop forever. Counts the redirects it gave.
/// </summary>
internal sealed class RedirectingHost : IDisposable
{
    private readonly UnixListener _listener;
    private readonly List<Connection> _connections = new();
    private int _redirects;

    public RedirectingHost(string path)
    {
        Address = $"unix:{path}";
        _listener = new UnixListener(path, mode: 0x180 /* 0600 */, Accept);
    }

    /// <summary>The address it listens on and redirects to.</summary>
    public string Address { get; }

    /// <summary>The message every redirect carries after the address.</summary>
    public const string Why = "guest's device is on this very node (a loop)";

    public int Redirects => Volatile.Read(ref _redirects);

    private void Accept(FileDescriptor fd, PeerCredentials peer)
    {
        var connection = new SeqPacketConnection(fd, new ConnectionOptions(), peer: peer);
        lock (_connections) _connections.Add(connection);
        connection.Start(new Answers(this, connection));
    }

    private sealed class Answers(RedirectingHost host, Connection connection) : IFrameHandler
    {
        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            if (!FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out var request, out var error))
            {
                connection.Close($"malformed request: {error}");
                return;
            }
            var reply = new byte[connection.MaxFrame];
            int length;
            if (request is Requests.Hello)
            {
                connection.Admitted();
                length = FrameEncoder.WriteReply(reply, request.Op, request!.RequestId, request.Context,
                    new Replies.Hello(ProtocolLimits.Version, 0, (uint)connection.MaxFrame, 1));
            }
            else
            {
                Interlocked.Increment(ref host._redirects);
                length = FrameEncoder.WriteReply(reply, request!.Op, request.RequestId, request.Context, -Errno.EREMOTE,
                    default, $"{PvDrm.Protocol.Redirects.Prefix}{host.Address}: {Why}");
            }
            connection.Send(reply.AsSpan(0, length));
        }

        public void OnClosed(string reason) { }
    }

    public void Dispose()
    {
        _listener.Dispose();
        lock (_connections)
            foreach (var c in _connections) c.Close("test over");
    }
}
