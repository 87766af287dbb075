namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// What the pool actor counts, for `status --cluster` and the pool's metrics. Written by the pool
/// actor alone; the metrics collector reads it from its own thread (whole values, no torn state).
/// </summary>
public sealed class PoolCounters
{
    /// <summary>Cluster members by status (Up, Joining, Leaving, ...).</summary>
    public IReadOnlyDictionary<string, int> Members { get; set; } = new Dictionary<string, int>();

    /// <summary>Guests with a placement in the pool.</summary>
    public int Placements { get; set; }

    /// <summary>Guests placed on this node's devices.</summary>
    public int PlacedHere { get; set; }

    /// <summary>Guests moved off a lost node by this node as leader.</summary>
    public long Failovers { get; set; }

    /// <summary>Placements of departed guests this node expired as leader.</summary>
    public long Expired { get; set; }

    /// <summary>Writes of this node's identity (<c>pvdrm-nodes</c>): once per start.</summary>
    public long IdentityWrites { get; set; }

    /// <summary>Writes of this node's load (<c>pvdrm-load</c>): only when it changed.</summary>
    public long LoadWrites { get; set; }

    /// <summary>Times the load was checked (every pvdrm.cluster.load-interval).</summary>
    public long LoadChecks { get; set; }
}
