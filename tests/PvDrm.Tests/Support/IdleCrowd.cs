using System.Text;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Support;

/// <summary>
/// Many connections to a listening host that never say anything, as an attacker opens them:
/// blocking connects (a full backlog makes connect wait for the host to accept, not fail), then
/// one poll over all of them to see which the host closes and what it said first.
/// </summary>
internal sealed unsafe class IdleCrowd : IDisposable
{
    private readonly List<FileDescriptor> _open = new();

    /// <summary>Frames the host sent on the connections it closed, one per closed connection (null: closed silently).</summary>
    public List<ReplyFrame?> ClosedWith { get; } = new();

    /// <summary>Connections the host has not closed (yet).</summary>
    public IReadOnlyList<FileDescriptor> Open => _open;

    /// <summary>How many connections this process may open, keeping room for the rest of the test run.</summary>
    public static int Affordable(int wanted)
    {
        string line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        long soft = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
        return (int)Math.Min(wanted, Math.Max(64, soft - 2048));
    }

    public static IdleCrowd Connect(string path, int count)
    {
        var crowd = new IdleCrowd();
        for (int i = 0; i < count; i++) crowd._open.Add(BlockingConnect(path));
        return crowd;
    }

    /// <summary>Waits (at most 60 s, a bound on a hang) until the host has closed <paramref name="expected"/> of the connections.</summary>
    public void AwaitClosed(int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var buffer = new byte[64 * 1024];
        var frames = new Dictionary<FileDescriptor, ReplyFrame?>();
        while (ClosedWith.Count < expected && DateTime.UtcNow < deadline)
        {
            var polls = new pollfd[_open.Count];
            for (int i = 0; i < polls.Length; i++) polls[i] = new pollfd { fd = _open[i].Number, events = (short)(POLLIN | POLLRDHUP) };
            int ready;
            fixed (pollfd* p = polls) ready = poll(p, (uint)polls.Length, 1000);
            if (ready <= 0) continue;
            var closed = new List<FileDescriptor>();
            for (int i = 0; i < polls.Length; i++)
            {
                if (polls[i].revents == 0) continue;
                var fd = _open[i];
                int n;
                fixed (byte* b = buffer) n = (int)recv(fd.Number, b, buffer.Length, MSG_DONTWAIT);
                if (n > 0)
                {
                    frames.TryAdd(fd, ReplyFrame.Parse(buffer.AsSpan(0, n), null, out _));
                    continue;
                }
                if (n == 0 || errno != EAGAIN)
                {
                    closed.Add(fd);
                    ClosedWith.Add(frames.GetValueOrDefault(fd));
                }
            }
            foreach (var fd in closed)
            {
                _open.Remove(fd);
                fd.Dispose();
            }
        }
    }

    /// <summary>A blocking SEQPACKET connect, then non-blocking like every other guest socket here.</summary>
    public static FileDescriptor BlockingConnect(string path)
    {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException(errno, "socket");
        var descriptor = new FileDescriptor(fd);
        sockaddr_un addr = default;
        addr.sun_family = AF_UNIX;
        Encoding.UTF8.GetBytes(path, new Span<byte>(addr.sun_path, 107));
        int rc;
        do rc = connect(fd, (sockaddr*)&addr, SizeOf.sockaddr_un);
        while (rc != 0 && errno == EINTR);
        if (rc != 0)
        {
            int err = errno;
            descriptor.Dispose();
            throw new ErrnoException(err, $"connect to {path}");
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
        return descriptor;
    }

    public void Dispose()
    {
        foreach (var fd in _open) fd.Dispose();
        _open.Clear();
    }
}
