using PvDrm.Native.Interop;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// A <see cref="Connection"/> over a Unix SOCK_SEQPACKET socket: one message is one frame, and a
/// file descriptor may travel with it (the zero-copy path for GEM mappings).
/// </summary>
public sealed class SeqPacketConnection : SocketConnection
{
    public SeqPacketConnection(FileDescriptor socket, ConnectionOptions options, EventLoop? loop = null, PeerCredentials? peer = null)
        : base(socket, options, loop)
    {
        Peer = peer ?? UnixSocket.GetPeerCredentials(socket);
        // A SEQPACKET message must fit the sender's buffer: ask for room for two full frames,
        // and shrink the frame limit if the kernel (net.core.wmem_max) grants less.
        int granted = UnixSocket.SetSendBuffer(socket, options.MaxFrame * 2 + 4096);
        MaxFrame = Math.Min(options.MaxFrame, granted / 2 - 1024);
    }

    /// <summary>Connects to a host or proxy listening at <paramref name="path"/>.</summary>
    public static SeqPacketConnection Connect(string path, ConnectionOptions options, EventLoop? loop = null) =>
        new(UnixSocket.Connect(path), options, loop);

    public override string Transport => "unix";

    public override bool CanPassFds => true;

    public override int MaxFrame { get; }

    public override PeerCredentials? Peer { get; }

    protected override int SendSome(ReadOnlySpan<byte> data, FileDescriptor? fd)
    {
        int err = UnixSocket.Send(Socket, data, fd);
        return err == 0 ? data.Length : -err; // messages go whole or not at all
    }

    private string TooLarge(int limit) => BeforeAdmission
        ? $"frame larger than the {limit} bytes allowed before the peer is admitted"
        : $"frame larger than the maximum of {limit} bytes";

    protected override int? ReceiveFrames(int budget)
    {
        byte[] buffer = Loop.ReceiveBuffer(MaxFrame);
        int limit = ReceiveLimit;
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        for (int delivered = 0; delivered < budget; delivered++)
        {
            if (Paused) return delivered;
            int n = UnixSocket.Receive(Socket, buffer.AsSpan(0, limit), fds, out int fdCount, out int flags);
            if (n == -EAGAIN) return delivered == 0 ? -1 : delivered;
            string? error = n < 0 ? $"receive failed: {Errno.Name(-n)}"
                : n == 0 ? "peer closed the connection"
                : (flags & MSG_CTRUNC) != 0 ? "descriptors sent with a frame were truncated (MSG_CTRUNC)"
                : (flags & MSG_TRUNC) != 0 ? TooLarge(limit)
                : fdCount > 1 ? $"{fdCount} descriptors sent with one frame (at most 1)"
                : null;
            if (error != null)
            {
                for (int i = 0; i < fdCount; i++) close(fds[i]);
                Close(error);
                return null;
            }
            Handler.OnFrame(buffer.AsSpan(0, n), fdCount == 1 ? new FileDescriptor(fds[0]) : null);
        }
        return budget;
    }
}
