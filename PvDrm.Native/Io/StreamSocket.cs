using System.Net;
using System.Net.Sockets;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// TCP and AF_VSOCK stream sockets: the transports for guests on other machines and in VMs.
/// Frames carry their length, descriptors cannot travel. All descriptors are non-blocking and
/// close-on-exec; TCP runs without Nagle's delay, since every frame is a whole message.
/// </summary>
public static unsafe class StreamSocket
{
    private const ushort AF_VSOCK_ = 40;
    public const uint VsockAnyCid = 0xFFFFFFFF;

    /// <summary>sockaddr_vm from linux/vm_sockets.h (16 bytes); the reserved and zero fields stay 0.</summary>
#pragma warning disable CS0649
    private struct sockaddr_vm
    {
        public ushort svm_family;
        public ushort svm_reserved1;
        public uint svm_port;
        public uint svm_cid;
        public uint svm_zero;
    }
#pragma warning restore CS0649

    public static FileDescriptor ListenTcp(IPEndPoint at, int backlog) => Listen(Tcp(at), at.ToString(), backlog, (fd, addr, len) => bind(fd, addr, len), ToSockaddr(at));

    public static FileDescriptor ListenVsock(uint cid, uint port, int backlog) =>
        Listen(NewSocket(AF_VSOCK_, $"vsock:{cid}:{port}"), $"vsock:{cid}:{port}", backlog, (fd, addr, len) => bind(fd, addr, len), Vsock(cid, port));

    /// <summary>Connects (waiting at most <paramref name="timeout"/>) to a TCP endpoint.</summary>
    public static FileDescriptor ConnectTcp(IPEndPoint to, TimeSpan timeout)
    {
        var fd = Tcp(to);
        return Connect(fd, ToSockaddr(to), $"tcp:{to}", timeout);
    }

    public static FileDescriptor ConnectVsock(uint cid, uint port, TimeSpan timeout) =>
        Connect(NewSocket(AF_VSOCK_, $"vsock:{cid}:{port}"), Vsock(cid, port), $"vsock:{cid}:{port}", timeout);

    /// <summary>Accepts one pending connection, or null when none is waiting.</summary>
    public static FileDescriptor? Accept(FileDescriptor listener)
    {
        var fd = UnixSocket.Accept(listener);
        if (fd != null) NoDelay(fd);
        return fd;
    }

    /// <summary>Sends what the socket takes: the byte count, or -errno.</summary>
    public static int Send(FileDescriptor socket, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            while (true)
            {
                long n = send(socket.Number, p, (size_t)data.Length, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n >= 0) return (int)n;
                int err = errno;
                if (err != EINTR) return -err;
            }
        }
    }

    /// <summary>Reads what is there: the byte count (0 at end of stream), or -errno.</summary>
    public static int Receive(FileDescriptor socket, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = recv(socket.Number, p, (size_t)buffer.Length, MSG_DONTWAIT);
                if (n >= 0) return (int)n;
                int err = errno;
                if (err != EINTR) return -err;
            }
        }
    }

    /// <summary>The address a TCP socket is bound to (with the port the kernel chose for port 0).</summary>
    public static IPEndPoint LocalTcp(FileDescriptor socket)
    {
        byte* buffer = stackalloc byte[128];
        socklen_t len = 128;
        if (getsockname(socket.Number, (sockaddr*)buffer, &len) != 0) ErrnoException.ThrowLibc("getsockname", errno);
        return ToEndPoint(buffer, len);
    }

    private static IPEndPoint ToEndPoint(byte* buffer, socklen_t len)
    {
        ushort family = *(ushort*)buffer;
        var address = new SocketAddress(family == (ushort)AF_INET6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, (int)len);
        for (int i = 0; i < (int)len; i++) address[i] = buffer[i];
        return (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(address);
    }

    /// <summary>Where a connected TCP or vsock peer is, for status output.</summary>
    public static string PeerName(FileDescriptor socket, string transport)
    {
        byte* buffer = stackalloc byte[128];
        socklen_t len = 128;
        if (getpeername(socket.Number, (sockaddr*)buffer, &len) != 0) return transport;
        if (*(ushort*)buffer == AF_VSOCK_) return $"vsock:{((sockaddr_vm*)buffer)->svm_cid}:{((sockaddr_vm*)buffer)->svm_port}";
        return $"tcp:{ToEndPoint(buffer, len)}";
    }

    private delegate int Binder(int fd, sockaddr* addr, socklen_t len);

    private static FileDescriptor Listen(FileDescriptor fd, string what, int backlog, Binder bindTo, byte[] address)
    {
        try
        {
            int one = 1;
            setsockopt(fd.Number, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(int));
            fixed (byte* a = address)
                if (bindTo(fd.Number, (sockaddr*)a, (socklen_t)address.Length) != 0) ErrnoException.ThrowLibc($"bind({what})", errno);
            if (listen(fd.Number, backlog) != 0) ErrnoException.ThrowLibc($"listen({what})", errno);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static FileDescriptor Connect(FileDescriptor fd, byte[] address, string what, TimeSpan timeout)
    {
        try
        {
            int rc;
            fixed (byte* a = address)
                do rc = connect(fd.Number, (sockaddr*)a, (socklen_t)address.Length);
                while (rc != 0 && errno == EINTR);
            if (rc != 0)
            {
                int err = errno;
                if (err != EINPROGRESS) ErrnoException.Throw(err, $"cannot connect to {what}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(err)}");
                pollfd p = default;
                p.fd = fd.Number;
                p.events = (short)POLLOUT;
                if (poll(&p, 1, (int)timeout.TotalMilliseconds) == 0) ErrnoException.Throw(Errno.ETIMEDOUT, $"cannot connect to {what}: no answer within {timeout.TotalSeconds:F0} s");
                int soError = 0;
                socklen_t len = sizeof(int);
                getsockopt(fd.Number, SOL_SOCKET, SO_ERROR, &soError, &len);
                if (soError != 0) ErrnoException.Throw(soError, $"cannot connect to {what}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(soError)}");
            }
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static FileDescriptor Tcp(IPEndPoint at)
    {
        var fd = NewSocket((ushort)(at.AddressFamily == AddressFamily.InterNetworkV6 ? AF_INET6 : AF_INET), $"tcp:{at}");
        NoDelay(fd);
        return fd;
    }

    /// <summary>The kernel's receive and send buffer sizes of a socket (SO_RCVBUF, SO_SNDBUF), as getsockopt reports them.</summary>
    public static (int Receive, int Send) Buffers(FileDescriptor fd) => (Option(fd, SO_RCVBUF), Option(fd, SO_SNDBUF));

    /// <summary>
    /// Asks for buffers of about <paramref name="receive"/> and <paramref name="send"/> bytes as
    /// getsockopt reports them (the kernel doubles what it is given, within its minimum and
    /// maximum). Best effort: a transport that ignores the options (vsock) keeps its own.
    /// </summary>
    public static void SetBuffers(FileDescriptor fd, int receive, int send)
    {
        int r = Math.Max(1, receive / 2), s = Math.Max(1, send / 2);
        setsockopt(fd.Number, SOL_SOCKET, SO_RCVBUF, &r, sizeof(int));
        setsockopt(fd.Number, SOL_SOCKET, SO_SNDBUF, &s, sizeof(int));
    }

    private static int Option(FileDescriptor fd, int name)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        return getsockopt(fd.Number, SOL_SOCKET, name, &value, &length) == 0 ? value : 0;
    }

    private static void NoDelay(FileDescriptor fd)
    {
        int one = 1;
        setsockopt(fd.Number, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int)); // fails harmlessly on vsock
    }

    private static FileDescriptor NewSocket(ushort family, string what)
    {
        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) ErrnoException.ThrowLibc($"socket({what})", errno);
        return new FileDescriptor(fd);
    }

    private static byte[] ToSockaddr(IPEndPoint at)
    {
        var address = at.Serialize();
        var bytes = new byte[address.Size];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = address[i];
        // .NET lays sa_family out in host order for the platform; Linux wants it as a native ushort.
        ushort family = (ushort)(at.AddressFamily == AddressFamily.InterNetworkV6 ? AF_INET6 : AF_INET);
        BitConverter.TryWriteBytes(bytes, family);
        return bytes;
    }

    private static byte[] Vsock(uint cid, uint port)
    {
        var addr = new sockaddr_vm { svm_family = AF_VSOCK_, svm_port = port, svm_cid = cid };
        var bytes = new byte[sizeof(sockaddr_vm)];
        fixed (byte* b = bytes) *(sockaddr_vm*)b = addr;
        return bytes;
    }
}
