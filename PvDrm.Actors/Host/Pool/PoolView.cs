using System.Text.Json;

namespace PvDrm.Actors.Host.Pool;

/// <summary>One device of the pool as its node publishes it: what does not change while the node runs.</summary>
public sealed record PoolDevice(string Name, string Kind, long MemoryBytes);

/// <summary>What a node publishes about itself once (<c>pvdrm-nodes</c>): where guests reach it, and its devices.</summary>
public sealed record PoolNode(string Name, string AkkaAddress, IReadOnlyList<string> Advertise, IReadOnlyList<PoolDevice> Devices)
{
    public string ToJson() => JsonSerializer.Serialize(this, PoolJson.Options);

    public static PoolNode? FromJson(string json) => PoolJson.Read<PoolNode>(json);
}

/// <summary>
/// What changes while a node runs (<c>pvdrm-load</c>), kept apart from its identity so that a
/// busy node rewrites only this: bytes live on each device, and the guests connected to it
/// (a placed guest connected to no node is departed, and its placement expires).
/// </summary>
public sealed record PoolLoad(IReadOnlyDictionary<string, long> LiveBytes, IReadOnlyList<string> Guests)
{
    public static readonly PoolLoad Empty = new(new Dictionary<string, long>(), []);

    public string ToJson() => JsonSerializer.Serialize(this, PoolJson.Options);

    public static PoolLoad? FromJson(string json) => PoolJson.Read<PoolLoad>(json);
}

internal static class PoolJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static T? Read<T>(string json) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The pool as this node last saw it (replicated, so eventually the same on every node):
/// nodes and their devices, their load, and each guest's device as <c>node/device</c> (or
/// <c>none</c>). Immutable; the pool actor swaps in a new one, the guest registry reads it.
/// </summary>
/// <param name="Up">The Akka addresses of the cluster members that are up: only their devices take guests.</param>
public sealed record PoolView(string Self, IReadOnlyDictionary<string, PoolNode> Nodes, IReadOnlyDictionary<string, string> Assignments, IReadOnlySet<string> Up)
{
    public const string None = "none";

    /// <summary>Each node's last published load.</summary>
    public IReadOnlyDictionary<string, PoolLoad> Load { get; init; } = new Dictionary<string, PoolLoad>();

    public static PoolView Empty(string self) =>
        new(self, new Dictionary<string, PoolNode>(), new Dictionary<string, string>(), new HashSet<string>());

    /// <summary>A node that is up and serving (its entry published, its member up).</summary>
    public bool Serving(string node) => Nodes.TryGetValue(node, out var n) && Up.Contains(n.AkkaAddress);

    /// <summary>Splits <c>node/device</c>; null when it is not of that form.</summary>
    public static (string Node, string Device)? Split(string placement) =>
        placement.IndexOf('/') is var at and > 0 && at < placement.Length - 1 ? (placement[..at], placement[(at + 1)..]) : null;

    public bool Exists(string placement) =>
        Split(placement) is var (node, device) && Nodes.TryGetValue(node, out var n) && n.Devices.Any(d => d.Name == device);

    /// <summary>Guests placed on <paramref name="placement"/>.</summary>
    public int GuestsOn(string placement) => Assignments.Values.Count(p => p == placement);

    public long LiveBytes(string node, string device) =>
        Load.TryGetValue(node, out var load) ? load.LiveBytes.GetValueOrDefault(device) : 0;

    /// <summary>Guests connected to a node that is up.</summary>
    public IEnumerable<string> Connected() =>
        Load.Where(l => Serving(l.Key)).SelectMany(l => l.Value.Guests);

    /// <summary>
    /// The device with the fewest guests placed on it, then the smallest share of its memory in
    /// use, then by name; null when the pool has no device (outside <paramref name="except"/>).
    /// </summary>
    public string? LeastLoaded(string? except = null) => Nodes.Values
        .Where(n => n.Name != except && Up.Contains(n.AkkaAddress))
        .SelectMany(n => n.Devices.Select(d => (Placement: $"{n.Name}/{d.Name}", Node: n.Name, Device: d)))
        .OrderBy(x => GuestsOn(x.Placement))
        .ThenBy(x => x.Device.MemoryBytes > 0 ? (double)LiveBytes(x.Node, x.Device.Name) / x.Device.MemoryBytes : 0)
        .ThenBy(x => x.Placement, StringComparer.Ordinal)
        .Select(x => x.Placement)
        .FirstOrDefault();

    /// <summary>Where a guest that reached us over <paramref name="transport"/> reaches <paramref name="node"/>: the first advertised address of that kind, else the first.</summary>
    public string? AddressOf(string node, string transport) =>
        Nodes.TryGetValue(node, out var n) && n.Advertise.Count > 0
            ? n.Advertise.FirstOrDefault(a => a.StartsWith(transport + ":", StringComparison.Ordinal)) ?? n.Advertise[0]
            : null;
}
