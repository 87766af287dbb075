using System.Text;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// Unix SOCK_SEQPACKET sockets: message boundaries are kept, so one message is one frame,
/// and SCM_RIGHTS carries file descriptors beside it. All descriptors are non-blocking and
/// close-on-exec.
/// </summary>
public static unsafe class UnixSocket
{
    /// <summary>At most this many descriptors are accepted with one message; the protocol sends one.</summary>
    public const int MaxFdsPerMessage = 4;

    private static int SeqPacketType => SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC;

    // glibc: CMSG_LEN(n) = CMSG_ALIGN(sizeof(struct cmsghdr)) + n. Tmds.LibC 0.5.0 rounds n up
    // as well (CMSG_LEN(4) = 24, not 20), which makes the kernel take the next int of the control
    // buffer as a second descriptor (fd 0, our stdin, went to the peer). So compute it here.
    internal static int CmsgLen(int dataBytes) => CMSG_ALIGN(sizeof(cmsghdr)) + dataBytes;

    /// <summary>A connected pair, for tests and in-process links.</summary>
    public static (FileDescriptor, FileDescriptor) Pair()
    {
        int* fds = stackalloc int[2];
        if (socketpair(AF_UNIX, SeqPacketType, 0, fds) != 0) ErrnoException.ThrowLibc("socketpair", errno);
        return (new FileDescriptor(fds[0]), new FileDescriptor(fds[1]));
    }

    /// <summary>Connects to a listening SEQPACKET socket at <paramref name="path"/>.</summary>
    public static FileDescriptor Connect(string path)
    {
        var fd = NewSocket();
        try
        {
            sockaddr_un addr = Address(path);
            int rc;
            do rc = connect(fd.Number, (sockaddr*)&addr, SizeOf.sockaddr_un);
            while (rc != 0 && errno == EINTR);
            if (rc != 0)
            {
                int err = errno;
                // A non-blocking Unix connect completes at once or fails; EAGAIN means the backlog is full.
                ErrnoException.Throw(err, $"cannot connect to unix:{path}: {Describe(err)}");
            }
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Binds and listens at <paramref name="path"/> with file mode <paramref name="mode"/>. A stale
    /// socket file left by a crashed process is replaced; a live one is an error. The socket is
    /// made under a staging name and renamed into place once it listens, so a peer that waits for
    /// the file to appear never finds it refusing connections.
    /// </summary>
    public static FileDescriptor Listen(string path, int backlog, uint mode)
    {
        if (File.Exists(path) && IsLive(path))
            ErrnoException.Throw(EADDRINUSE, $"another process is listening on unix:{path}");
        string staging = $"{path}.{Environment.ProcessId}.{Interlocked.Increment(ref s_staging)}";
        if (Encoding.UTF8.GetByteCount(staging) >= 108) staging = path; // no room: bind in place
        var fd = NewSocket();
        try
        {
            if (staging == path) Unlink(path);
            sockaddr_un addr = Address(staging);
            if (bind(fd.Number, (sockaddr*)&addr, SizeOf.sockaddr_un) != 0)
            {
                int err = errno;
                ErrnoException.Throw(err, $"cannot bind unix:{path}: {Describe(err)}");
            }
            byte[] cstaging = NulTerminated(staging);
            fixed (byte* s = cstaging)
            {
                // Tighten the mode before anyone can connect: listen() has not run yet.
                if (chmod(s, (mode_t)mode) != 0) ErrnoException.ThrowLibc($"chmod(unix:{staging})", errno);
                if (listen(fd.Number, backlog) != 0) ErrnoException.ThrowLibc($"listen(unix:{staging})", errno);
            }
            // rename(2): replaces a stale file atomically.
            if (staging != path) File.Move(staging, path, overwrite: true);
            return fd;
        }
        catch
        {
            fd.Dispose();
            if (staging != path) Unlink(staging);
            throw;
        }
    }

    private static int s_staging;

    /// <summary>Accepts one pending connection, or returns null when none is waiting.</summary>
    public static FileDescriptor? Accept(FileDescriptor listener)
    {
        while (true)
        {
            int fd = accept4(listener.Number, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) return new FileDescriptor(fd);
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) continue;
            if (err == EAGAIN) return null;
            ErrnoException.ThrowLibc("accept4", err);
        }
    }

    /// <summary>The peer's pid, uid and gid from SO_PEERCRED.</summary>
    public static PeerCredentials GetPeerCredentials(FileDescriptor fd)
    {
        ucred cred;
        socklen_t len = (socklen_t)sizeof(ucred);
        if (getsockopt(fd.Number, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
            ErrnoException.ThrowLibc("getsockopt(SO_PEERCRED)", errno);
        return new PeerCredentials((int)cred.pid, (uint)cred.uid, (uint)cred.gid);
    }

    /// <summary>
    /// Asks for a send buffer of <paramref name="bytes"/> and returns what the kernel granted.
    /// A SEQPACKET message must fit the sender's buffer, so this bounds the frame size.
    /// </summary>
    public static int SetSendBuffer(FileDescriptor fd, int bytes)
    {
        int value = bytes;
        setsockopt(fd.Number, SOL_SOCKET, SO_SNDBUF, &value, sizeof(int)); // capped by net.core.wmem_max
        socklen_t len = sizeof(int);
        if (getsockopt(fd.Number, SOL_SOCKET, SO_SNDBUF, &value, &len) != 0)
            ErrnoException.ThrowLibc("getsockopt(SO_SNDBUF)", errno);
        return value;
    }

    /// <summary>
    /// Sends one message, with <paramref name="fd"/> attached when given. Returns 0, or the errno
    /// (EAGAIN when the socket buffer is full).
    /// </summary>
    public static int Send(FileDescriptor socket, ReadOnlySpan<byte> message, FileDescriptor? fd)
    {
        bool added = false;
        try
        {
            fd?.DangerousAddRef(ref added);
            fixed (byte* data = message)
            {
                iovec iov = default;
                iov.iov_base = data;
                iov.iov_len = (size_t)message.Length;
                msghdr msg = default;
                msg.msg_iov = &iov;
                msg.msg_iovlen = 1;

                // The control buffer must be zeroed and 8-byte aligned: a ulong array is both.
                ulong* control = stackalloc ulong[4];
                control[0] = control[1] = control[2] = control[3] = 0;
                if (fd != null)
                {
                    msg.msg_control = control;
                    msg.msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int));
                    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
                    cmsg->cmsg_level = SOL_SOCKET;
                    cmsg->cmsg_type = SCM_RIGHTS;
                    cmsg->cmsg_len = (socklen_t)CmsgLen(sizeof(int));
                    *(int*)CMSG_DATA(cmsg) = fd.Number;
                }

                while (true)
                {
                    long sent = sendmsg(socket.Number, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
                    if (sent >= 0) return 0;
                    int err = errno;
                    if (err != EINTR) return err;
                }
            }
        }
        finally
        {
            if (added) fd!.DangerousRelease();
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>. Returns the length (0 at end of stream),
    /// or -errno (-EAGAIN when nothing is waiting). Received descriptors are stored in
    /// <paramref name="fds"/> and counted in <paramref name="fdCount"/>; the caller owns them.
    /// <paramref name="flags"/> reports MSG_TRUNC (message larger than the buffer) and MSG_CTRUNC
    /// (descriptors lost): both are protocol errors for the caller.
    /// </summary>
    public static int Receive(FileDescriptor socket, Span<byte> buffer, Span<int> fds, out int fdCount, out int flags)
    {
        fdCount = 0;
        flags = 0;
        fixed (byte* data = buffer)
        {
            iovec iov = default;
            iov.iov_base = data;
            iov.iov_len = (size_t)buffer.Length;
            ulong* control = stackalloc ulong[8];
            for (int i = 0; i < 8; i++) control[i] = 0;
            msghdr msg = default;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int) * MaxFdsPerMessage);

            long n;
            while (true)
            {
                n = recvmsg(socket.Number, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0) break;
                int err = errno;
                if (err != EINTR) return -err;
            }

            flags = msg.msg_flags;
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != null; c = CMSG_NXTHDR(&msg, c))
            {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
                int count = ((int)c->cmsg_len - CmsgLen(0)) / sizeof(int);
                int* received = (int*)CMSG_DATA(c);
                for (int i = 0; i < count; i++)
                {
                    if (fdCount < fds.Length) fds[fdCount++] = received[i];
                    else close(received[i]); // more than we take: never leak them
                }
            }
            return (int)n;
        }
    }

    /// <summary>Removes a socket file; a missing file is fine.</summary>
    public static void Unlink(string path)
    {
        byte[] cpath = NulTerminated(path);
        fixed (byte* p = cpath) unlink(p);
    }

    private static FileDescriptor NewSocket()
    {
        int fd = socket(AF_UNIX, SeqPacketType, 0);
        if (fd < 0) ErrnoException.ThrowLibc("socket(AF_UNIX, SOCK_SEQPACKET)", errno);
        return new FileDescriptor(fd);
    }

    private static bool IsLive(string path)
    {
        try
        {
            using var probe = Connect(path);
            return true;
        }
        catch (ErrnoException)
        {
            return false;
        }
    }

    private static sockaddr_un Address(string path)
    {
        int length = Encoding.UTF8.GetByteCount(path);
        sockaddr_un addr = default;
        if (length == 0 || length >= 108)
            ErrnoException.Throw(Errno.EINVAL, $"unix socket path must be 1..107 bytes: '{path}'");
        addr.sun_family = AF_UNIX;
        Encoding.UTF8.GetBytes(path, new Span<byte>(addr.sun_path, 108));
        return addr;
    }

    private static byte[] NulTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    private static string Describe(int err) => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(err);
}
