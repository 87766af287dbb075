using System.Net;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Io;

/// <summary>
/// Where a guest reaches a host or a proxy: <c>unix:PATH</c> (local; descriptors travel, buffers
/// map), <c>tcp:HOST:PORT</c> or <c>vsock:CID:PORT</c> (remote; data moves with GEM_READ/GEM_WRITE).
/// </summary>
public static class Endpoints
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Checks an endpoint's form; throws <see cref="FormatException"/> saying what is expected.</summary>
    public static void Validate(string endpoint) => Parse(endpoint);

    public static Connection Connect(string endpoint, ConnectionOptions options, EventLoop? loop = null)
    {
        var (transport, path, ip, vsock) = Parse(endpoint);
        if (path != null) return SeqPacketConnection.Connect(path, options, loop);
        if (ip != null) return new StreamConnection(StreamSocket.ConnectTcp(ip, ConnectTimeout), transport, options, loop, $"tcp:{ip}");
        var (cid, port) = vsock!.Value;
        return new StreamConnection(StreamSocket.ConnectVsock(cid, port, ConnectTimeout), transport, options, loop, $"vsock:{cid}:{port}");
    }

    /// <summary>The path of a unix:PATH endpoint; null for other transports.</summary>
    public static string? UnixPath(string endpoint) => Parse(endpoint).Path;

    private static (string Transport, string? Path, IPEndPoint? Ip, (uint, uint)? Vsock) Parse(string endpoint)
    {
        const string expected = "expected unix:PATH, tcp:HOST:PORT or vsock:CID:PORT";
        int colon = endpoint.IndexOf(':');
        string transport = colon > 0 ? endpoint[..colon] : "", rest = colon > 0 ? endpoint[(colon + 1)..] : "";
        switch (transport)
        {
            case "unix" when rest.Length > 0:
                return (transport, rest, null, null);
            case "tcp":
                if (IPEndPoint.TryParse(rest, out var ip) && ip.Port > 0) return (transport, null, ip, null);
                if (rest.StartsWith("localhost:", StringComparison.Ordinal) && ushort.TryParse(rest[10..], out ushort port) && port > 0)
                    return (transport, null, new IPEndPoint(IPAddress.Loopback, port), null);
                throw new FormatException($"'{endpoint}': not an IP address and port (tcp:127.0.0.1:7000, tcp:[::1]:7000); {expected}");
            case "vsock":
                var parts = rest.Split(':');
                if (parts.Length == 2 && TryCid(parts[0], out uint cid) && uint.TryParse(parts[1], out uint vport))
                    return (transport, null, null, (cid, vport));
                throw new FormatException($"'{endpoint}': not a vsock CID and port (vsock:2:7000, vsock:any:7000); {expected}");
            default:
                throw new FormatException($"'{endpoint}' is not an endpoint; {expected}");
        }
    }

    private static bool TryCid(string text, out uint cid)
    {
        if (text == "any")
        {
            cid = StreamSocket.VsockAnyCid;
            return true;
        }
        return uint.TryParse(text, out cid);
    }

    /// <summary>A listening address: tcp:ADDR:PORT or vsock:CID:PORT (port 0 lets the kernel choose, for tests).</summary>
    public static (IPEndPoint? Tcp, (uint Cid, uint Port)? Vsock) ParseListen(string endpoint)
    {
        var parsed = endpoint.StartsWith("tcp:", StringComparison.Ordinal) && IPEndPoint.TryParse(endpoint[4..], out var any)
            ? ("tcp", null, any, null)
            : Parse(endpoint);
        return parsed.Transport switch
        {
            "tcp" => (parsed.Ip, null),
            "vsock" => (null, parsed.Vsock),
            _ => throw new FormatException($"'{endpoint}' is not a listening address: tcp:ADDR:PORT or vsock:CID:PORT"),
        };
    }
}
