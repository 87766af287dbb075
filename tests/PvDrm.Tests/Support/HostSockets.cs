using System.Buffers.Binary;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Support;

/// <summary>
/// The host's own end of a TCP connection, found in this process (the host runs in the test
/// process) by its ports, and its socket options read with getsockopt as the host sees them.
/// </summary>
internal static unsafe class HostSockets
{
    /// <summary>SO_RCVBUF and SO_SNDBUF of the IPv4 socket bound to <paramref name="localPort"/> and connected to <paramref name="peerPort"/>; null if there is none.</summary>
    public static (int Receive, int Send)? Buffers(int localPort, int peerPort)
    {
        foreach (string entry in Directory.GetFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }
            if (target == null || !target.StartsWith("socket:", StringComparison.Ordinal)) continue;
            int fd = int.Parse(Path.GetFileName(entry));
            if (Port(fd, peer: false) != localPort || Port(fd, peer: true) != peerPort) continue;
            return (Option(fd, SO_RCVBUF), Option(fd, SO_SNDBUF));
        }
        return null;
    }

    private static int Port(int fd, bool peer)
    {
        sockaddr_in address;
        socklen_t length = (socklen_t)sizeof(sockaddr_in);
        int result = peer ? getpeername(fd, (sockaddr*)&address, &length) : getsockname(fd, (sockaddr*)&address, &length);
        if (result != 0 || address.sin_family != AF_INET) return -1;
        return BinaryPrimitives.ReverseEndianness(address.sin_port);
    }

    private static int Option(int fd, int name)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1;
    }
}
