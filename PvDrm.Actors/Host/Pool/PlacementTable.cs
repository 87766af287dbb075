using Akka.Cluster;
using Akka.DistributedData;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// The replicated placements (<c>pvdrm-placements</c>, durable): guest to <see cref="Placement"/>,
/// a last-writer-wins map whose clock is the placement's version, not the writers' wall
/// clocks. A rewrite carries one more than the version its node has seen, so it wins over
/// what it replaces; two writes of the same version (two nodes placing one guest at once) are
/// decided by Akka's rule for equal timestamps, the lower node address, on every node alike.
/// </summary>
internal static class PlacementTable
{
    public static readonly LWWDictionaryKey<string, string> Key = new("pvdrm-placements");

    /// <summary>Concurrent placements seen, by guest, written by the node whose placement lost, so the winner's node reports them too.</summary>
    public static readonly LWWDictionaryKey<string, string> ConflictsKey = new("pvdrm-placement-conflicts");

    public static LWWDictionary<string, string> Empty => LWWDictionary<string, string>.Empty;

    public static LWWDictionary<string, string> Set(LWWDictionary<string, string> table, UniqueAddress self, string guest, Placement placement) =>
        table.SetItem(self, guest, placement.Encode(), (_, _) => placement.Version);

    /// <summary>Every guest's placement, undecodable entries left out.</summary>
    public static Dictionary<string, Placement> Entries(LWWDictionary<string, string> table) =>
        table.Entries
            .Select(e => (Guest: e.Key, Placement: Placement.Decode(e.Value)))
            .Where(e => e.Placement != null)
            .ToDictionary(e => e.Guest, e => e.Placement!, StringComparer.Ordinal);

    /// <summary>The version a write replacing <paramref name="current"/> carries.</summary>
    public static long Next(Placement? current) => (current?.Version ?? 0) + 1;
}
