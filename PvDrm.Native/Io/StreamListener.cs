using System.Net;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Io;

/// <summary>Accepts TCP or vsock connections as <see cref="StreamConnection"/>s.</summary>
public sealed class StreamListener : IReadinessHandler, IDisposable
{
    private readonly FileDescriptor _socket;
    private readonly EventLoop _loop;
    private readonly string _transport;
    private readonly Action<FileDescriptor, string> _onAccept;
    private readonly ulong _registration;
    private int _disposed;

    private StreamListener(FileDescriptor socket, string transport, string address, Action<FileDescriptor, string> onAccept, EventLoop? loop)
    {
        _socket = socket;
        _transport = transport;
        Address = address;
        _onAccept = onAccept;
        _loop = loop ?? EventLoop.Default;
        _registration = _loop.Register(_socket, this);
    }

    /// <summary>Where it listens, as an endpoint (tcp:ADDR:PORT, vsock:CID:PORT), with the port the kernel chose for port 0.</summary>
    public string Address { get; }

    /// <param name="onAccept">Gets the new socket and the peer's name (tcp:ADDR:PORT).</param>
    public static StreamListener Tcp(IPEndPoint at, Action<FileDescriptor, string> onAccept, EventLoop? loop = null)
    {
        var fd = StreamSocket.ListenTcp(at, backlog: 128);
        return new StreamListener(fd, "tcp", $"tcp:{StreamSocket.LocalTcp(fd)}", onAccept, loop);
    }

    public static StreamListener Vsock(uint cid, uint port, Action<FileDescriptor, string> onAccept, EventLoop? loop = null) =>
        new(StreamSocket.ListenVsock(cid, port, backlog: 128), "vsock", $"vsock:{cid}:{port}", onAccept, loop);

    void IReadinessHandler.OnReady(uint events)
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            FileDescriptor? fd;
            try
            {
                fd = StreamSocket.Accept(_socket);
            }
            catch (ErrnoException e) when (e.Errno is Errno.EMFILE or Errno.ENOMEM or Errno.ENOBUFS)
            {
                EventLoop.UnhandledException(e);
                return;
            }
            if (fd == null) return;
            _onAccept(fd, StreamSocket.PeerName(fd, _transport));
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _loop.Unregister(_registration, _socket);
        _socket.Dispose();
    }
}
