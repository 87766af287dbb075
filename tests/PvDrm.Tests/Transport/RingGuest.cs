using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;
using PvDrm.Native.Memory;
using PvDrm.Tests.Support;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Transport;

/// <summary>
/// A guest that attaches a ring by hand and then writes into it whatever it likes: the indexes,
/// the lengths, a slot after ringing. It reads replies from the ring and the socket itself.
/// </summary>
internal sealed unsafe class RingGuest : IDisposable
{
    public static readonly RingShape Shape = new(SlotSize: 4096, RequestSlots: 8, ReplySlots: 8);

    private readonly FileDescriptor _socket;
    private FileDescriptor? _doorbell;
    private uint _nextId = 1;

    private RingGuest(FileDescriptor socket, SharedRing ring)
    {
        _socket = socket;
        Ring = ring;
    }

    public SharedRing Ring { get; }

    /// <summary>Admitted with HELLO; the ring offered but not attached.</summary>
    public static RingGuest Hello(HostHarness host, string name, RingShape? shape = null) => Hello(host.ConnectRaw(), name, shape);

    /// <summary>Admitted with HELLO over <paramref name="socket"/> (to a host or a guest proxy); the ring offered but not attached.</summary>
    public static RingGuest Hello(FileDescriptor socket, string name, RingShape? shape = null)
    {
        var guest = new RingGuest(socket, SharedRing.Create(shape ?? Shape));
        guest.SendOnSocket(new Requests.Hello(ProtocolLimits.Version, 0, 0, name, ""));
        var (hello, _) = guest.ReceiveOnSocket();
        Assert.Equal(0, hello.Status);
        guest.HelloCapabilities = hello.Read<Replies.Hello>().Capabilities;
        return guest;
    }

    /// <summary>Admitted, with its ring attached.</summary>
    public static RingGuest Attached(HostHarness host, string name, RingShape? shape = null) => Attached(host.ConnectRaw(), name, shape);

    /// <summary>Admitted over <paramref name="socket"/>, with its ring attached.</summary>
    public static RingGuest Attached(FileDescriptor socket, string name, RingShape? shape = null)
    {
        var guest = Hello(socket, name, shape);
        var reply = guest.Attach();
        Assert.True(reply.Status == 0, reply.Message);
        return guest;
    }

    public uint HelloCapabilities { get; private set; }

    /// <summary>RING_ATTACH with this guest's memfd; keeps the doorbell the host answers with.</summary>
    public ReplyFrame Attach()
    {
        SendOnSocket(new Requests.RingAttach(0), Ring.Memfd);
        var (reply, fd) = ReceiveOnSocket();
        _doorbell = fd;
        return reply;
    }

    public void SendOnSocket(Request request, FileDescriptor? fd = null)
    {
        var frame = new byte[FrameEncoder.RequestSize(request)];
        FrameEncoder.WriteRequest(request, frame, _nextId++, FrameFlags.None);
        Assert.Equal(0, UnixSocket.Send(_socket, frame, fd));
    }

    /// <summary>Puts a request in the request ring and rings the host. Returns its request id.</summary>
    public uint Put(Request request)
    {
        uint id = _nextId++;
        var frame = new byte[FrameEncoder.RequestSize(request)];
        FrameEncoder.WriteRequest(request, frame, id, FrameFlags.None);
        Assert.True(Ring.Requests.TryPut(frame), "request ring full");
        RingDoorbell();
        return id;
    }

    /// <summary>Rings the host's doorbell whatever its sleeping flag says.</summary>
    public void RingDoorbell()
    {
        ulong one = 1;
        Assert.Equal(sizeof(ulong), (int)write(_doorbell!.Number, &one, sizeof(ulong)));
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="offset"/> of the ring memfd.</summary>
    public void Poke(ulong offset, uint value)
    {
        var bytes = BitConverter.GetBytes(value);
        MemFd.WriteAt(Ring.Memfd, offset, bytes);
    }

    /// <summary>The next reply from the ring (polled, bounded by 30 s).</summary>
    public ReplyFrame TakeReply()
    {
        var buffer = new byte[Ring.Shape.SlotSize];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var result = Ring.Replies.TryTake(buffer, out int length, out string? why);
            Assert.NotEqual(TakeResult.Corrupt, result);
            if (result == TakeResult.Frame) return ReplyFrame.Parse(buffer.AsSpan(0, length), null, out _)!;
            Thread.Yield();
        }
        throw new TimeoutException("no reply in the ring");
    }

    public (ReplyFrame Reply, FileDescriptor? Fd) ReceiveOnSocket()
    {
        var buffer = new byte[1 << 20];
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            int n = UnixSocket.Receive(_socket, buffer, fds, out int count, out _);
            for (int i = 1; i < count; i++) close(fds[i]);
            if (n > 0) return (ReplyFrame.Parse(buffer.AsSpan(0, n), null, out var error) ?? throw new InvalidOperationException(error), count > 0 ? new FileDescriptor(fds[0]) : null);
            if (n == 0) throw new InvalidOperationException("host closed the connection");
            if (n != -EAGAIN) throw new ErrnoException(-n, "receive failed");
            WaitReadable(100);
        }
        throw new TimeoutException("no frame from the host");
    }

    /// <summary>True once the host closed the socket (EOF after what it queued), within 30 s.</summary>
    public bool HostClosed()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var buffer = new byte[1 << 20];
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        while (DateTime.UtcNow < deadline)
        {
            int n = UnixSocket.Receive(_socket, buffer, fds, out int count, out _);
            for (int i = 0; i < count; i++) close(fds[i]);
            if (n == 0 || (n < 0 && n != -EAGAIN)) return true;
            if (n < 0) WaitReadable(100);
        }
        return false;
    }

    private void WaitReadable(int ms)
    {
        pollfd p = default;
        p.fd = _socket.Number;
        p.events = (short)POLLIN;
        poll(&p, 1, ms);
    }

    /// <summary>The guest process "dies": its socket and doorbell close, its ring unmaps.</summary>
    public void Dispose()
    {
        _socket.Dispose();
        _doorbell?.Dispose();
        Ring.Dispose();
    }
}
