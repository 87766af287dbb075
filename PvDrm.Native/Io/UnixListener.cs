using PvDrm.Native.Interop;

namespace PvDrm.Native.Io;

/// <summary>
/// Accepts SEQPACKET connections on a socket file. The file is created with a restrictive mode
/// and removed again on dispose.
/// </summary>
public sealed class UnixListener : IReadinessHandler, IDisposable
{
    private readonly FileDescriptor _socket;
    private readonly EventLoop _loop;
    private readonly Action<FileDescriptor, PeerCredentials> _onAccept;
    private readonly ulong _registration;
    private int _disposed;

    /// <param name="mode">File mode of the socket, e.g. 0o660: who may connect at all.</param>
    public UnixListener(string path, uint mode, Action<FileDescriptor, PeerCredentials> onAccept, EventLoop? loop = null)
    {
        Path = path;
        _onAccept = onAccept;
        _loop = loop ?? EventLoop.Default;
        _socket = UnixSocket.Listen(path, backlog: 128, mode);
        _registration = _loop.Register(_socket, this);
    }

    public string Path { get; }

    void IReadinessHandler.OnReady(uint events)
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            FileDescriptor? fd;
            try
            {
                fd = UnixSocket.Accept(_socket);
            }
            catch (ErrnoException e) when (e.Errno is Errno.EMFILE or Errno.ENOMEM or Errno.ENOBUFS)
            {
                EventLoop.UnhandledException(e); // out of descriptors: the next connection may succeed
                return;
            }
            if (fd == null) return;

            PeerCredentials peer;
            try
            {
                peer = UnixSocket.GetPeerCredentials(fd);
            }
            catch (ErrnoException)
            {
                fd.Dispose();
                continue;
            }
            _onAccept(fd, peer);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _loop.Unregister(_registration, _socket);
        _socket.Dispose();
        UnixSocket.Unlink(Path);
    }
}
