using System.Text.Json;
using System.Text.Json.Serialization;

namespace PvDrm.Actors.Host.Control;

/// <summary>
/// The admin protocol on <c>pvdrm.host.control.unix</c>: one JSON object per SEQPACKET message
/// each way. Only root and the host's own user may connect.
/// </summary>
public static class ControlProtocol
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// <c>{"command": "status"}</c>, <c>{"command": "evict", "guest": "vm1"}</c>,
    /// <c>{"command": "set", "key": "sequential", "value": "on"}</c>.
    /// </summary>
    public sealed record Request(string Command, string? Guest = null, string? Key = null, string? Value = null);

    public sealed record Response(bool Ok, string Message, HostStatus? Status = null, ProxyStatus? Proxy = null);

    /// <summary>A guest proxy's status: its applications and its GEM cache.</summary>
    public sealed record ProxyStatus(string Name, string Host, int Applications, Guest.GemCacheStats Cache, int CachedWithName);

    /// <param name="MetricsUrl">Where Prometheus scrapes this host; null when metrics are off.</param>
    public sealed record HostStatus(string Mode, DeviceStatus Device, IReadOnlyList<GuestStatus> Guests, Totals Totals, string? MetricsUrl = null);

    /// <summary>Since the host started, departed guests included.</summary>
    public sealed record Totals(long GuestsAdmitted, long Served, IReadOnlyDictionary<string, long> Errors);

    public sealed record DeviceStatus(
        string Name, string Driver, long LiveBuffers, long LiveBytes, long LiveChannels, long Submitted, long Completed, int Running);

    public sealed record GuestStatus(
        string Name,
        string Transport,
        string? Peer,
        double UptimeSeconds,
        int Contexts,
        int Objects,
        long Bytes,
        long MappedBytes,
        int Channels,
        int QueuedPushbufs,
        int InFlight,
        long Served,
        Protocol.LatencySummary Latency,
        IReadOnlyDictionary<string, long> Errors);
}
