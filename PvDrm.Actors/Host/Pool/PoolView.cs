using System.Text.Json;

namespace PvDrm.Actors.Host.Pool;

/// <summary>One device of the pool as its node publishes it.</summary>
public sealed record PoolDevice(string Name, string Kind, long MemoryBytes, long LiveBytes);

/// <summary>What a node publishes about itself: where guests reach it, and its devices.</summary>
public sealed record PoolNode(string Name, string AkkaAddress, IReadOnlyList<string> Advertise, IReadOnlyList<PoolDevice> Devices)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static PoolNode? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<PoolNode>(json, s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The pool as this node last saw it (replicated, so eventually the same on every node):
/// nodes and their devices, and each guest's device as <c>node/device</c> (or <c>none</c>).
/// Immutable; the pool actor swaps in a new one, the guest registry reads it.
/// </summary>
/// <param name="Up">The Akka addresses of the cluster members that are up: only their devices take guests.</param>
public sealed record PoolView(string Self, IReadOnlyDictionary<string, PoolNode> Nodes, IReadOnlyDictionary<string, string> Assignments, IReadOnlySet<string> Up)
{
    public const string None = "none";

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

    /// <summary>
    /// The device with the fewest guests placed on it, then the smallest share of its memory in
    /// use, then by name; null when the pool has no device (outside <paramref name="except"/>).
    /// </summary>
    public string? LeastLoaded(string? except = null) => Nodes.Values
        .Where(n => n.Name != except && Up.Contains(n.AkkaAddress))
        .SelectMany(n => n.Devices.Select(d => (Placement: $"{n.Name}/{d.Name}", Device: d)))
        .OrderBy(x => GuestsOn(x.Placement))
        .ThenBy(x => x.Device.MemoryBytes > 0 ? (double)x.Device.LiveBytes / x.Device.MemoryBytes : 0)
        .ThenBy(x => x.Placement, StringComparer.Ordinal)
        .Select(x => x.Placement)
        .FirstOrDefault();

    /// <summary>Where a guest that reached us over <paramref name="transport"/> reaches <paramref name="node"/>: the first advertised address of that kind, else the first.</summary>
    public string? AddressOf(string node, string transport) =>
        Nodes.TryGetValue(node, out var n) && n.Advertise.Count > 0
            ? n.Advertise.FirstOrDefault(a => a.StartsWith(transport + ":", StringComparison.Ordinal)) ?? n.Advertise[0]
            : null;
}
