using System.Buffers.Binary;
using PvDrm.Native.Interop;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// A <see cref="Connection"/> over a TCP or vsock stream: frames are found by their length field
/// (the first u32 of every frame) and may arrive in pieces; descriptors cannot travel, so data
/// moves with GEM_READ/GEM_WRITE. A length below the header size or above the maximum frame ends
/// the connection before anything is allocated for it. The receive buffer grows with the frames
/// that arrive, so an idle or unadmitted peer holds a few KiB, not a maximum frame.
/// </summary>
public sealed class StreamConnection : SocketConnection
{
    private const int HeaderSize = 16;
    private const int InitialBuffer = 4096;

    private byte[] _in;
    private int _filled;

    public StreamConnection(FileDescriptor socket, string transport, ConnectionOptions options, EventLoop? loop = null, string? peerName = null)
        : base(socket, options, loop)
    {
        Transport = transport;
        PeerName = peerName ?? StreamSocket.PeerName(socket, transport);
        MaxFrame = options.MaxFrame;
        _in = new byte[Math.Min(InitialBuffer, options.MaxFrame)];
        if (options.UnadmittedMaxFrame is int small)
        {
            // Until admitted, the kernel holds about one small frame each way for this peer too.
            _admittedBuffers = StreamSocket.Buffers(socket);
            StreamSocket.SetBuffers(socket, small, small);
        }
    }

    // The kernel's buffer sizes before they were shrunk for a peer not yet admitted; restored at admission.
    private readonly (int Receive, int Send)? _admittedBuffers;

    public override void Admitted()
    {
        // Restored before the HELLO reply goes out. (Setting them ends the kernel's autotuning:
        // the connection keeps the default sizes, which fit the largest frame.)
        if (_admittedBuffers is var (receive, send) && BeforeAdmission)
            StreamSocket.SetBuffers(Socket, receive, send);
        base.Admitted();
    }

    public override string Transport { get; }

    /// <summary>Where the peer is (tcp:ADDR:PORT, vsock:CID:PORT): the only identity a stream peer has besides its token.</summary>
    public override string PeerName { get; }

    public override bool CanPassFds => false;

    public override int MaxFrame { get; }

    public override PeerCredentials? Peer => null;

    protected override int SendSome(ReadOnlySpan<byte> data, FileDescriptor? fd)
    {
        if (fd != null) return -Errno.EOPNOTSUPP; // never reached: links refuse descriptors on streams first
        return StreamSocket.Send(Socket, data);
    }

    protected override int? ReceiveFrames(int budget)
    {
        // Frames already buffered go first (a pause may have left some), then what the socket has.
        int? delivered = DeliverBuffered(budget);
        if (delivered is not int done || done >= budget || Paused) return delivered;
        MakeRoom();
        int n = StreamSocket.Receive(Socket, _in.AsSpan(_filled));
        if (n == -EAGAIN) return done == 0 ? -1 : done;
        if (n <= 0)
        {
            Close(n == 0 ? "peer closed the connection" : $"receive failed: {Errno.Name(-n)}");
            return null;
        }
        _filled += n;
        return DeliverBuffered(budget - done) is int more ? done + more : null;
    }

    /// <summary>Delivers complete frames from the buffer until the budget, a pause, or an incomplete frame.</summary>
    private int? DeliverBuffered(int budget)
    {
        int delivered = 0, at = 0;
        while (delivered < budget && !Paused && _filled - at >= 4)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(_in.AsSpan(at));
            int limit = ReceiveLimit;
            if (length < HeaderSize || length > (uint)limit)
            {
                Close(length < HeaderSize ? $"frame length {length} is shorter than the {HeaderSize}-byte header"
                    : BeforeAdmission ? $"frame larger than the {limit} bytes allowed before the peer is admitted ({length})"
                    : $"frame larger than the maximum of {limit} bytes ({length})");
                return null;
            }
            if (_filled - at < length) break;
            Handler.OnFrame(_in.AsSpan(at, (int)length), null);
            at += (int)length;
            delivered++;
        }
        // Keep the start of the next frame at the front of the buffer.
        if (at > 0)
        {
            _in.AsSpan(at, _filled - at).CopyTo(_in);
            _filled -= at;
        }
        return delivered;
    }

    /// <summary>
    /// Grows the buffer to hold the frame at its front, whose length (within the limit) is known
    /// once 4 bytes are in; with fewer, the initial buffer has room.
    /// </summary>
    private void MakeRoom()
    {
        if (_filled < 4) return;
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_in);
        if (length <= _in.Length) return;
        Array.Resize(ref _in, Math.Min(ReceiveLimit, Math.Max(length, 2 * _in.Length)));
    }
}
