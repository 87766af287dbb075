using Prometheus;
using PvDrm.Actors.Host.Pool;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// A pool node's families (<c>pvdrm.cluster</c> on): the cluster's members by status, the
/// guests placed in the pool and on this node, failovers and expiries this node carried out as
/// leader, and its writes to the replicated data. Read from the pool actor's counts when
/// Prometheus scrapes.
/// </summary>
internal sealed class PoolMetrics
{
    private readonly PoolCounters _counters;
    private readonly Gauge _members, _placements, _placedHere;
    private readonly Counter _failovers, _expired, _writes;
    private readonly HashSet<string> _statusesShown = new(StringComparer.Ordinal);

    public PoolMetrics(MetricFactory factory, PoolCounters counters)
    {
        _counters = counters;
        _members = factory.CreateGauge("pvdrm_pool_members", "Members of the pool's cluster, by status (Up, Joining, Leaving, ...).", ["status"]);
        _placements = factory.CreateGauge("pvdrm_pool_placements", "Guests with a placement in the pool (connected or not).");
        _placedHere = factory.CreateGauge("pvdrm_pool_node_guests", "Guests placed on this node's devices.");
        _failovers = factory.CreateCounter("pvdrm_pool_failovers_total", "Guests this node moved off a lost node, as the cluster's leader.");
        _expired = factory.CreateCounter("pvdrm_pool_placements_expired_total", "Placements of departed guests this node expired, as the cluster's leader.");
        _writes = factory.CreateCounter("pvdrm_pool_replicated_writes_total", "This node's writes of its entries to the pool's replicated data, by entry (identity, load).", ["entry"]);
    }

    public void Show()
    {
        var members = _counters.Members;
        foreach (var (status, count) in members) _members.WithLabels(status).Set(count);
        foreach (string gone in _statusesShown.Where(s => !members.ContainsKey(s)).ToList())
        {
            _members.RemoveLabelled(gone);
            _statusesShown.Remove(gone);
        }
        _statusesShown.UnionWith(members.Keys);
        _placements.Set(_counters.Placements);
        _placedHere.Set(_counters.PlacedHere);
        _failovers.IncTo(_counters.Failovers);
        _expired.IncTo(_counters.Expired);
        _writes.WithLabels("identity").IncTo(_counters.IdentityWrites);
        _writes.WithLabels("load").IncTo(_counters.LoadWrites);
    }
}
