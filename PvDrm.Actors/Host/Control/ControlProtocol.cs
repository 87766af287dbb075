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
    /// <c>{"command": "set", "key": "sequential", "value": "on"}</c>, <c>{"command": "devices"}</c>,
    /// <c>{"command": "attach", "guest": "vm1", "value": "soft1"}</c>, <c>{"command": "detach", "guest": "vm1"}</c>.
    /// </summary>
    public sealed record Request(string Command, string? Guest = null, string? Key = null, string? Value = null);

    public sealed record Response(
        bool Ok, string Message, HostStatus? Status = null, ProxyStatus? Proxy = null, IReadOnlyList<DeviceStatus>? Devices = null,
        ClusterStatus? Cluster = null);

    /// <summary>`status --cluster`: the pool as one node sees it (the same on every node once replication settles).</summary>
    /// <param name="Assignments">Every guest's <c>node/device</c> (or none).</param>
    public sealed record ClusterStatus(string Self, string? Leader, IReadOnlyList<ClusterNodeStatus> Nodes, IReadOnlyDictionary<string, string> Assignments);

    /// <param name="State">The cluster member's status (Up, Leaving, ...), Unreachable, or Removed.</param>
    public sealed record ClusterNodeStatus(string Name, string Address, string State, IReadOnlyList<string> Advertise, IReadOnlyList<ClusterDeviceStatus> Devices);

    /// <param name="Guests">The guests placed on it, connected or not: its load.</param>
    public sealed record ClusterDeviceStatus(string Name, string Kind, long MemoryBytes, long LiveBytes, IReadOnlyList<string> Guests);

    /// <summary>A guest proxy's status: its applications and its GEM cache.</summary>
    public sealed record ProxyStatus(string Name, string Host, int Applications, Guest.GemCacheStats Cache, int CachedWithName);

    /// <param name="MetricsUrl">Where Prometheus scrapes this host; null when metrics are off.</param>
    public sealed record HostStatus(string Mode, IReadOnlyList<DeviceStatus> Devices, IReadOnlyList<GuestStatus> Guests, Totals Totals, string? MetricsUrl = null);

    /// <summary>Since the host started, departed guests included.</summary>
    public sealed record Totals(long GuestsAdmitted, long Served, IReadOnlyDictionary<string, long> Errors);

    /// <param name="Kind">soft or drm.</param>
    /// <param name="MemoryBytes">The device's memory as it reports it (0: it does not say).</param>
    /// <param name="IsDefault">Guests without a device of their own get this one.</param>
    /// <param name="Guests">The connected guests attached to it.</param>
    public sealed record DeviceStatus(
        string Name, string Kind, string Driver, long MemoryBytes, bool IsDefault,
        long LiveBuffers, long LiveBytes, long LiveChannels, long Submitted, long Completed, int Running,
        IReadOnlyList<string> Guests);

    /// <param name="Device">The attached device; null: none.</param>
    public sealed record GuestStatus(
        string Name,
        string? Device,
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
