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
    /// <c>{"command": "attach", "guest": "vm1", "value": "soft1"}</c>, <c>{"command": "detach", "guest": "vm1"}</c>,
    /// <c>{"command": "grant", "guest": "soft0-1", "key": "soft0", "value": "TOKEN"}</c> (a container's share: its token and device).
    /// </summary>
    public sealed record Request(string Command, string? Guest = null, string? Key = null, string? Value = null);

    /// <param name="Pending">Set on an interim frame: the request is still running, the answer follows.</param>
    public sealed record Response(
        bool Ok, string Message, HostStatus? Status = null, ProxyStatus? Proxy = null, IReadOnlyList<DeviceStatus>? Devices = null,
        ClusterStatus? Cluster = null, Pending? Pending = null);

    /// <summary>
    /// While a request runs longer than <see cref="ProgressEvery"/>, the control actor sends one of
    /// these every <see cref="ProgressEvery"/>: how long it has run, and by when the answer comes
    /// (the host's request timeout plus <see cref="Margin"/>). A client waits as long as they come.
    /// </summary>
    public sealed record Pending(double ElapsedSeconds, double AnswerWithinSeconds);

    /// <summary>How often a running request reports that it still runs.</summary>
    public static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    /// <summary>Room for an answer to travel back after the host's own limit ran out.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    /// <summary>How long a client waits for the next frame (an answer or a <see cref="Pending"/>) before it gives up.</summary>
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest the control actor waits for an answer: <c>pvdrm.host.limits.request-timeout</c>
    /// (a mode switch drains for up to that long) plus <see cref="Margin"/>.
    /// </summary>
    public static TimeSpan AnswerWithin(TimeSpan requestTimeout) => requestTimeout + Margin;

    /// <summary>`status --cluster`: the pool as one node sees it (the same on every node once replication settles).</summary>
    /// <param name="Assignments">Every guest's <c>node/device</c> (or none).</param>
    /// <param name="Insecure">The pool runs without TLS between its nodes (<c>pvdrm.cluster.insecure = on</c>).</param>
    /// <param name="Conflicts">Concurrent placements of one guest this node saw, and which won (the last few).</param>
    /// <param name="Writes">This node's writes to the replicated data.</param>
    public sealed record ClusterStatus(string Self, string? Leader, IReadOnlyList<ClusterNodeStatus> Nodes, IReadOnlyDictionary<string, string> Assignments,
        bool Insecure = false, IReadOnlyList<string>? Conflicts = null, ClusterWrites? Writes = null);

    /// <param name="Identity">Writes of the node's identity (devices, addresses): once per start.</param>
    /// <param name="Load">Writes of its load: only when it changed.</param>
    /// <param name="LoadChecks">Times the load was checked, every pvdrm.cluster.load-interval.</param>
    public sealed record ClusterWrites(long Identity, long Load, long LoadChecks);

    /// <param name="State">The cluster member's status (Up, Leaving, ...), Unreachable, or Removed.</param>
    public sealed record ClusterNodeStatus(string Name, string Address, string State, IReadOnlyList<string> Advertise, IReadOnlyList<ClusterDeviceStatus> Devices);

    /// <param name="Guests">The guests placed on it, connected or not: its load.</param>
    public sealed record ClusterDeviceStatus(string Name, string Kind, long MemoryBytes, long LiveBytes, IReadOnlyList<string> Guests);

    /// <summary>A guest proxy's status: its applications and its GEM cache.</summary>
    /// <param name="UpstreamOnRing">Whether the proxy's link to the host moves its frames in a shared-memory ring (pvdrm.guest.ring).</param>
    public sealed record ProxyStatus(string Name, string Host, int Applications, PvDrm.Client.GemCacheStats Cache, int CachedWithName, bool UpstreamOnRing = false);

    /// <param name="MetricsUrl">Where Prometheus scrapes this host; null when metrics are off.</param>
    public sealed record HostStatus(string Mode, IReadOnlyList<DeviceStatus> Devices, IReadOnlyList<GuestStatus> Guests, Totals Totals, string? MetricsUrl = null);

    /// <summary>Since the host started, departed guests included.</summary>
    public sealed record Totals(long GuestsAdmitted, long Served, IReadOnlyDictionary<string, long> Errors);

    /// <param name="Kind">soft or drm.</param>
    /// <param name="MemoryBytes">The device's memory as it reports it (0: it does not say).</param>
    /// <param name="IsDefault">Guests without a device of their own get this one.</param>
    /// <param name="Guests">The connected guests attached to it.</param>
    /// <param name="Engines">Engines that account their time (0: the device does not say), and <paramref name="BusySeconds"/> their time spent.</param>
    /// <param name="Waiting">Guests attached to it (by <c>attach</c> or <c>pvdrm.host.guests</c>) that are not connected.</param>
    public sealed record DeviceStatus(
        string Name, string Kind, string Driver, long MemoryBytes, bool IsDefault,
        long LiveBuffers, long LiveBytes, long LiveChannels, long Submitted, long Completed, int Running,
        IReadOnlyList<string> Guests, IReadOnlyList<string>? Waiting = null, int Engines = 0, double BusySeconds = 0);

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
        IReadOnlyDictionary<string, long> Errors,
        double EngineSeconds = 0);
}
