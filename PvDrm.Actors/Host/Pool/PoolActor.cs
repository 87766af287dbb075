using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using PvDrm.Actors.Host.Control;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// <c>/user/pvdrm/pool</c>, on every node of a cluster: keeps the replicated pool state in
/// Akka.DistributedData: each node's identity (<c>pvdrm-nodes</c>, written once) and load
/// (<c>pvdrm-load</c>, written when it changes, at most once per load-interval), and each
/// guest's placement (<see cref="PlacementTable"/>, durable). It hands every change to the guest
/// registry. The cluster leader moves the guests of a node that was downed (failover) and
/// expires the placements of departed guests; a node that leaves moves its own first. Guests'
/// requests never pass through here.
/// </summary>
internal sealed partial class PoolActor : ReceiveActor, IWithTimers
{
    private static readonly LWWDictionaryKey<string, string> NodesKey = new("pvdrm-nodes");
    private static readonly LWWDictionaryKey<string, string> LoadKey = new("pvdrm-load");
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(3);

    private readonly ClusterSettings _settings;
    private readonly HostDevices _devices;
    private readonly IActorRef _registry;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PoolCounters _counters;
    private PoolView _view;
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal); // nodes downed or removed from the cluster
    private readonly HashSet<string> _withdrawn = new(StringComparer.Ordinal); // lost nodes whose entries this node, as leader, removed
    private readonly Dictionary<string, string> _nodeAt = new(StringComparer.Ordinal); // Akka address -> node, of every node seen
    private IReadOnlyList<string> _guestsHere = [];
    private string? _loadWritten;

    public PoolActor(ClusterSettings settings, HostDevices devices, IActorRef registry, PoolCounters counters)
    {
        _settings = settings;
        _devices = devices;
        _registry = registry;
        _counters = counters;
        _view = PoolView.Empty(settings.NodeName);

        Receive<PoolProtocol.PublishLoad>(_ =>
        {
            _counters.LoadChecks++;
            PublishLoad();
            Expire();
        });
        Receive<PoolProtocol.GuestsHere>(g => _guestsHere = g.Guests);
        Receive<Changed>(OnChanged);
        // Downed is final (the node never comes back as the same member): its guests move then, a
        // leader tick and a gossip round before it is removed. Removed still moves what is left
        // (a node that left, or a leader that took over after the downing).
        Receive<ClusterEvent.MemberDowned>(downed =>
        {
            MemberChanged(downed.Member);
            OnLost(downed.Member);
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            MemberChanged(removed.Member);
            OnLost(removed.Member);
        });
        Receive<ClusterEvent.IMemberEvent>(e => MemberChanged(e.Member));
        Receive<ClusterEvent.IReachabilityEvent>(_ => { });
        Receive<PoolProtocol.Assign>(Assign);
        Receive<PoolProtocol.Place>(Place);
        Receive<PlacedHere>(OnPlaced);
        Receive<PoolProtocol.GetStatus>(_ => Sender.Tell(new ControlProtocol.Response(true, "ok", Cluster: Status())));
        Receive<PoolProtocol.Drain>(_ => Drain());
        Receive<Draining>(OnDraining);
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateFailure>(f => _log.Warning("pool: a replicated write was not confirmed by a majority in time ({Key})", f.Key));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ClusterSettings settings, HostDevices devices, IActorRef registry, PoolCounters counters) =>
        Akka.Actor.Props.Create(() => new PoolActor(settings, devices, registry, counters));

    private UniqueAddress SelfNode => _cluster.SelfUniqueAddress;

    protected override void PreStart()
    {
        _replicator.Tell(Dsl.Subscribe(NodesKey, Self));
        _replicator.Tell(Dsl.Subscribe(LoadKey, Self));
        _replicator.Tell(Dsl.Subscribe(PlacementTable.Key, Self));
        _replicator.Tell(Dsl.Subscribe(PlacementTable.ConflictsKey, Self));
        _cluster.Subscribe(Self, ClusterEvent.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        PublishIdentity();
        PublishLoad();
        Timers.StartPeriodicTimer("load", new PoolProtocol.PublishLoad(), _settings.LoadInterval);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>This node's devices and addresses, so every node can place guests on them and redirect there: once, they do not change.</summary>
    private void PublishIdentity()
    {
        var entry = new PoolNode(_settings.NodeName, _cluster.SelfAddress.ToString(), _settings.Advertise,
            _devices.All.Select(d => new PoolDevice(d.Name, HostDevices.KindOf(d),
                d.TryGetParam(Native.Gpu.DeviceParam.FbSize, out ulong fb) ? (long)fb : 0)).ToList());
        _counters.IdentityWrites++;
        Write(NodesKey, _settings.NodeName, entry.ToJson(), WriteLocal.Instance);
    }

    /// <summary>This node's load, only when it differs from what it last wrote (checked every load-interval).</summary>
    private void PublishLoad()
    {
        var load = new PoolLoad(_devices.All.ToDictionary(d => d.Name, d => d.GetStats().LiveBytes, StringComparer.Ordinal),
            _guestsHere.Order(StringComparer.Ordinal).ToList());
        string json = load.ToJson();
        if (json == _loadWritten) return;
        _loadWritten = json;
        _counters.LoadWrites++;
        Write(LoadKey, _settings.NodeName, json, WriteLocal.Instance);
    }

    private void Write(LWWDictionaryKey<string, string> key, string field, string value, IWriteConsistency consistency) =>
        _replicator.Tell(Dsl.Update(key, LWWDictionary<string, string>.Empty, consistency, d => d.SetItem(SelfNode, field, value)));

    private void OnChanged(Changed changed)
    {
        if (changed.Key.Equals(NodesKey))
        {
            var nodes = new Dictionary<string, PoolNode>(StringComparer.Ordinal);
            foreach (var (name, json) in changed.Get(NodesKey).Entries)
                if (PoolNode.FromJson(json) is { } node)
                {
                    nodes[name] = node;
                    _nodeAt[node.AkkaAddress] = name;
                }
            _view = _view with { Nodes = nodes };
        }
        else if (changed.Key.Equals(LoadKey))
            _view = _view with
            {
                Load = changed.Get(LoadKey).Entries
                    .Select(e => (e.Key, Load: PoolLoad.FromJson(e.Value)))
                    .Where(e => e.Load != null)
                    .ToDictionary(e => e.Key, e => e.Load!, StringComparer.Ordinal),
            };
        else if (changed.Key.Equals(PlacementTable.Key))
            OnPlacementsChanged(PlacementTable.Entries(changed.Get(PlacementTable.Key)));
        else if (changed.Key.Equals(PlacementTable.ConflictsKey))
        {
            OnConflictsChanged(changed.Get(PlacementTable.ConflictsKey));
            return;
        }
        else return;
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
        Reconcile();
    }

    /// <summary>Only members that are up take guests; one leaving, exiting or gone does not.</summary>
    private void MemberChanged(Member member)
    {
        _counters.Members = _cluster.State.Members.GroupBy(m => m.Status.ToString()).ToDictionary(g => g.Key, g => g.Count());
        string address = member.Address.ToString();
        bool up = member.Status == MemberStatus.Up;
        if (up == _view.Up.Contains(address)) return;
        var set = new HashSet<string>(_view.Up);
        if (up) set.Add(address);
        else set.Remove(address);
        _view = _view with { Up = set };
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
    }

    private bool Leading => _cluster.State.Leader == _cluster.SelfAddress;

    /// <summary>
    /// The leader's safety net: a guest placed on a node that is no longer a member (a placement
    /// that raced with the node's removal) is moved like the node's other guests were.
    /// </summary>
    private void Reconcile()
    {
        if (!Leading) return;
        var members = _cluster.State.Members.Select(m => m.Address.ToString()).ToHashSet();
        // Only nodes known to have gone: one that just joined may have guests before its entry arrives.
        var gone = _view.Assignments.Values.Select(p => PoolView.Split(p)?.Node).OfType<string>()
            .Where(node => _lost.Contains(node) || _view.Nodes.TryGetValue(node, out var n) && !members.Contains(n.AkkaAddress))
            .Distinct().ToList();
        foreach (string node in gone) MoveGuestsOff(node, $"node {node} is not in the pool");
    }

    private IEnumerable<string> AllDevices() =>
        _view.Nodes.Values.SelectMany(n => n.Devices.Select(d => $"{n.Name}/{d.Name}")).Order(StringComparer.Ordinal);

    /// <summary>A node was downed or removed: the leader moves its guests (failover) or leaves them without a device.</summary>
    private void OnLost(Member member)
    {
        // A node downed by its own side of a partition has no pool left to move its guests in.
        if (member.UniqueAddress.Equals(SelfNode)) return;
        // Found even when a leaving node already withdrew its entry: guests placed on it meanwhile move too.
        if (!_nodeAt.TryGetValue(member.Address.ToString(), out var gone)) return;
        _lost.Add(gone);
        if (!Leading) return;
        int moved = MoveGuestsOff(gone, $"node {gone} was lost");
        _counters.Failovers += moved;
        // Once per node on this leader: removed after downed finds nothing left to move.
        if (!_withdrawn.Add(gone) && moved == 0) return;
        _log.Warning("pool: node {Node} ({Address}) is {Status}; {Action} its {Count} guest(s)", gone, member.Address, member.Status,
            _settings.Failover ? "moved" : "detached", moved);
        foreach (var key in new[] { NodesKey, LoadKey })
            _replicator.Tell(Dsl.Update(key, LWWDictionary<string, string>.Empty, new WriteMajority(WriteTimeout), d => d.Remove(SelfNode, gone)));
    }

    /// <summary>Leaving gracefully: this node's guests go elsewhere and it stops being offered, before it leaves the cluster.</summary>
    private void Drain()
    {
        var sender = Sender;
        // The replicator's own copy: subscribers hear of changes only every notify interval.
        _replicator.Ask<IGetResponse>(Dsl.Get(PlacementTable.Key, ReadLocal.Instance), WriteTimeout)
            .PipeTo(Self, success: r => new Draining(sender, r), failure: _ => new Draining(sender, null));
    }

    private sealed record Draining(IActorRef ReplyTo, IGetResponse? Latest);

    private void OnDraining(Draining draining)
    {
        var sender = draining.ReplyTo;
        if (draining.Latest is GetSuccess latest)
            OnPlacementsChanged(PlacementTable.Entries(latest.Get(PlacementTable.Key)));
        MoveGuestsOff(_settings.NodeName, $"node {_settings.NodeName} is leaving", leaving: true);
        Timers.Cancel("load");
        _replicator.Tell(Dsl.Update(LoadKey, LWWDictionary<string, string>.Empty, WriteLocal.Instance, d => d.Remove(SelfNode, _settings.NodeName)));
        _replicator.Ask<IUpdateResponse>(Dsl.Update(NodesKey, LWWDictionary<string, string>.Empty, new WriteMajority(WriteTimeout),
                d => d.Remove(SelfNode, _settings.NodeName)), WriteTimeout + TimeSpan.FromSeconds(1))
            .PipeTo(sender, success: _ => new PoolProtocol.Done(), failure: _ => new PoolProtocol.Done());
    }

    private ControlProtocol.ClusterStatus Status()
    {
        var members = _cluster.State.Members.ToDictionary(m => m.Address.ToString(), m => m.Status.ToString());
        var unreachable = _cluster.State.Unreachable.Select(m => m.Address.ToString()).ToHashSet();
        var nodes = _view.Nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => new ControlProtocol.ClusterNodeStatus(
            n.Name, n.AkkaAddress,
            // Downed outranks unreachable (a downed node stays unreachable until it is removed).
            members.GetValueOrDefault(n.AkkaAddress) is "Down" ? "Down"
                : unreachable.Contains(n.AkkaAddress) ? "Unreachable" : members.GetValueOrDefault(n.AkkaAddress, "Removed"),
            n.Advertise,
            n.Devices.Select(d => new ControlProtocol.ClusterDeviceStatus(d.Name, d.Kind, d.MemoryBytes, _view.LiveBytes(n.Name, d.Name),
                _view.Assignments.Where(a => a.Value == $"{n.Name}/{d.Name}").Select(a => a.Key).Order(StringComparer.Ordinal).ToList())).ToList()))
            .ToList();
        return new ControlProtocol.ClusterStatus(_settings.NodeName, _cluster.State.Leader?.ToString(), nodes,
            new SortedDictionary<string, string>(_view.Assignments.ToDictionary(a => a.Key, a => a.Value), StringComparer.Ordinal), !_settings.Tls.Enabled,
            _conflicts.ToList(), new ControlProtocol.ClusterWrites(_counters.IdentityWrites, _counters.LoadWrites, _counters.LoadChecks));
    }
}
