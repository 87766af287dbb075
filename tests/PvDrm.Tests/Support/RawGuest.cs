using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Support;

/// <summary>A guest that speaks raw bytes over a blocking-with-timeout socket, to send what no client would.</summary>
internal sealed unsafe class RawGuest : IDisposable
{
    private FileDescriptor _socket;
    private int _reconnects;

    public RawGuest(FileDescriptor socket)
    {
        _socket = socket;
        // Room to send frames larger than any host accepts, to test that the host refuses them.
        UnixSocket.SetSendBuffer(socket, 2 << 20);
    }

    public static RawGuest Admitted(HostHarness host, string name)
    {
        var raw = new RawGuest(host.ConnectRaw());
        raw.Send(FrameEncoder.EncodeRequest(new Requests.Hello(ProtocolLimits.Version, 0, 0, name, "") { RequestId = 1 }));
        var reply = raw.Receive();
        Assert.Equal(0, reply.Status);
        return raw;
    }

    public void Send(ReadOnlySpan<byte> frame) => Assert.Equal(0, UnixSocket.Send(_socket, frame, null));

    /// <summary>Sends if the kernel takes it (a frame larger than the socket buffer may be refused outright).</summary>
    public int TrySend(ReadOnlySpan<byte> frame) => UnixSocket.Send(_socket, frame, null);

    /// <summary>Sends with a descriptor (SCM_RIGHTS); false once the host has closed the connection.</summary>
    public bool TrySendWithFd(ReadOnlySpan<byte> frame, FileDescriptor? fd) =>
        UnixSocket.Send(_socket, frame, fd) is 0 or Errno.EMSGSIZE or Errno.EAGAIN;

    /// <summary>
    /// Sends; when the host has closed the connection (a broken stream ends it), says HELLO again on
    /// a new one first. Replies are drained as it goes so the host never sees a peer that does not read.
    /// </summary>
    public bool TrySendOrReconnect(byte[] frame, HostHarness host, string name)
    {
        DrainReplies();
        int err = UnixSocket.Send(_socket, frame, null);
        if (err is 0 or Errno.EMSGSIZE or Errno.EAGAIN) return true;
        _socket.Dispose();
        // A new name: the old session is still being released, and a name belongs to one session.
        var fresh = Admitted(host, $"{name}-{++_reconnects}");
        _socket = fresh._socket;
        return UnixSocket.Send(_socket, frame, null) is 0 or Errno.EMSGSIZE or Errno.EAGAIN;
    }

    /// <summary>Reads and drops whatever replies are waiting.</summary>
    public void DrainReplies()
    {
        var buffer = new byte[1 << 20];
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        while (UnixSocket.Receive(_socket, buffer, fds, out int count, out _) > 0)
            for (int i = 0; i < count; i++) close(fds[i]);
    }

    /// <summary>The next frame from the host (waits up to 30 s).</summary>
    public ReplyFrame Receive()
    {
        var buffer = new byte[1 << 20];
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            int n = UnixSocket.Receive(_socket, buffer, fds, out int count, out _);
            for (int i = 0; i < count; i++) close(fds[i]);
            if (n > 0) return ReplyFrame.Parse(buffer.AsSpan(0, n), null, out var error) ?? throw new InvalidOperationException(error);
            if (n == 0) throw new InvalidOperationException("host closed the connection");
            if (n != -EAGAIN) throw new ErrnoException(-n, "receive failed");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no frame from the host");
            Wait();
        }
    }

    /// <summary>True once the host has closed its end (EOF after any queued frames).</summary>
    public bool IsClosed()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var buffer = new byte[1 << 20];
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        while (DateTime.UtcNow < deadline)
        {
            int n = UnixSocket.Receive(_socket, buffer, fds, out _, out _);
            if (n == 0 || (n < 0 && n != -EAGAIN)) return true;
            if (n < 0) Wait();
        }
        return false;
    }

    private void Wait()
    {
        pollfd p = default;
        p.fd = _socket.Number;
        p.events = (short)POLLIN;
        poll(&p, 1, 100);
    }

    public void Dispose() => _socket.Dispose();
}
