using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using PvDrm.Actors.Host.Control;

namespace PvDrm.Actors.Host.Pool;

/// <summary>The pool actor's conversation.</summary>
internal static class PoolProtocol
{
    /// <summary>Place a guest on <c>node/device</c>, or <c>none</c>; answered with a control response.</summary>
    public sealed record Assign(string Guest, string Placement, string Why);

    /// <summary>Where a guest goes: its placement as a majority of nodes has it, else <paramref name="IfUnplaced"/>, recorded on a majority.</summary>
    public sealed record Place(string Guest, string IfUnplaced);

    public sealed record Placed(string Placement);

    /// <summary>The pool as seen from here, for `status --cluster`.</summary>
    public sealed record GetStatus;

    /// <summary>This node is leaving: move its guests elsewhere first; answered with <see cref="Done"/>.</summary>
    public sealed record Drain;

    public sealed record Done;

    /// <summary>To the guest registry: the pool actor exists.</summary>
    public sealed record Started(IActorRef Pool);

    /// <summary>To the guest registry: the pool changed (placements, nodes).</summary>
    public sealed record ViewChanged(PoolView View);

    internal sealed record Publish;
}

/// <summary>
/// <c>/user/pvdrm/pool</c>, on every node of a cluster: keeps the replicated pool state (each
/// node's devices and addresses, each guest's <c>node/device</c>) in two Akka.DistributedData
/// last-writer-wins dictionaries, publishes this node's devices, and hands every change to the
/// guest registry. The cluster leader moves the guests of a node that was downed (failover); a
/// node that leaves moves its own first. Guests' requests never pass through here.
/// </summary>
internal sealed class PoolActor : ReceiveActor, IWithTimers
{
    private static readonly LWWDictionaryKey<string, string> NodesKey = new("pvdrm-nodes");
    private static readonly LWWDictionaryKey<string, string> AssignmentsKey = new("pvdrm-assignments");
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(3);

    private readonly ClusterSettings _settings;
    private readonly HostDevices _devices;
    private readonly IActorRef _registry;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PoolView _view;
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal); // nodes removed from the cluster
    private readonly Dictionary<string, string> _nodeAt = new(StringComparer.Ordinal); // Akka address -> node, of every node seen

    public PoolActor(ClusterSettings settings, HostDevices devices, IActorRef registry)
    {
        _settings = settings;
        _devices = devices;
        _registry = registry;
        _view = PoolView.Empty(settings.NodeName);

        Receive<PoolProtocol.Publish>(_ => PublishSelf());
        Receive<Changed>(OnChanged);
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            MemberChanged(removed.Member);
            OnRemoved(removed);
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

    public static Props Props(ClusterSettings settings, HostDevices devices, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new PoolActor(settings, devices, registry));

    private UniqueAddress SelfNode => _cluster.SelfUniqueAddress;

    protected override void PreStart()
    {
        _replicator.Tell(Dsl.Subscribe(NodesKey, Self));
        _replicator.Tell(Dsl.Subscribe(AssignmentsKey, Self));
        _cluster.Subscribe(Self, ClusterEvent.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        PublishSelf();
        Timers.StartPeriodicTimer("publish", new PoolProtocol.Publish(), TimeSpan.FromSeconds(1));
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>This node's devices and addresses, so every node can place guests on them and redirect there.</summary>
    private void PublishSelf()
    {
        var entry = new PoolNode(_settings.NodeName, _cluster.SelfAddress.ToString(), _settings.Advertise,
            _devices.All.Select(d => new PoolDevice(d.Name, HostDevices.KindOf(d),
                d.TryGetParam(Native.Gpu.DeviceParam.FbSize, out ulong fb) ? (long)fb : 0, d.GetStats().LiveBytes)).ToList());
        string json = entry.ToJson();
        if (_view.Nodes.TryGetValue(_settings.NodeName, out var shown) && shown.ToJson() == json) return;
        Write(NodesKey, _settings.NodeName, json, WriteLocal.Instance);
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
        else if (changed.Key.Equals(AssignmentsKey))
            _view = _view with { Assignments = changed.Get(AssignmentsKey).Entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal) };
        else return;
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
        Reconcile();
    }

    /// <summary>Only members that are up take guests; one leaving, exiting or gone does not.</summary>
    private void MemberChanged(Member member)
    {
        string address = member.Address.ToString();
        bool up = member.Status == MemberStatus.Up;
        if (up == _view.Up.Contains(address)) return;
        var set = new HashSet<string>(_view.Up);
        if (up) set.Add(address);
        else set.Remove(address);
        _view = _view with { Up = set };
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
    }

    /// <summary>
    /// The leader's safety net: a guest placed on a node that is no longer a member (a placement
    /// that raced with the node's removal) is moved like the node's other guests were.
    /// </summary>
    private void Reconcile()
    {
        if (_cluster.State.Leader != _cluster.SelfAddress) return;
        var members = _cluster.State.Members.Select(m => m.Address.ToString()).ToHashSet();
        // Only nodes known to have gone: one that just joined may have guests before its entry arrives.
        var gone = _view.Assignments.Values.Select(p => PoolView.Split(p)?.Node).OfType<string>()
            .Where(node => _lost.Contains(node) || _view.Nodes.TryGetValue(node, out var n) && !members.Contains(n.AkkaAddress))
            .Distinct().ToList();
        foreach (string node in gone) MoveGuestsOff(node, $"node {node} is not in the pool");
    }

    private void Assign(PoolProtocol.Assign assign)
    {
        if (assign.Placement != PoolView.None && !_view.Exists(assign.Placement))
        {
            Sender.Tell(new ControlProtocol.Response(false,
                $"no device named '{assign.Placement}' in the pool (devices: {string.Join(", ", AllDevices())})"));
            return;
        }
        // Seen here at once, so this node's next decision already counts it.
        var assignments = new Dictionary<string, string>(_view.Assignments, StringComparer.Ordinal) { [assign.Guest] = assign.Placement };
        _view = _view with { Assignments = assignments };
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
        var sender = Sender;
        _replicator.Ask<IUpdateResponse>(Dsl.Update(AssignmentsKey, LWWDictionary<string, string>.Empty, new WriteMajority(WriteTimeout),
                d => d.SetItem(SelfNode, assign.Guest, assign.Placement)), WriteTimeout + TimeSpan.FromSeconds(1))
            .PipeTo(sender,
                success: r => new ControlProtocol.Response(true, r is UpdateSuccess
                    ? $"guest {assign.Guest} placed on {assign.Placement} ({assign.Why})"
                    : $"guest {assign.Guest} placed on {assign.Placement} ({assign.Why}); not yet confirmed by a majority of the pool"),
                failure: e => new ControlProtocol.Response(false, $"placing guest {assign.Guest} failed: {e.Message}"));
    }

    private void Place(PoolProtocol.Place place)
    {
        var sender = Sender;
        var write = new WriteMajority(WriteTimeout);
        _replicator.Ask<IGetResponse>(Dsl.Get(AssignmentsKey, new ReadMajority(WriteTimeout)), WriteTimeout + TimeSpan.FromSeconds(1))
            .ContinueWith(read =>
            {
                if (read.IsCompletedSuccessfully && read.Result is GetSuccess found
                    && found.Get(AssignmentsKey).TryGetValue(place.Guest, out var existing))
                    return Task.FromResult(new PlacedHere(sender, place.Guest, existing));
                return _replicator.Ask<IUpdateResponse>(Dsl.Update(AssignmentsKey, LWWDictionary<string, string>.Empty, write,
                        d => d.SetItem(SelfNode, place.Guest, place.IfUnplaced)), WriteTimeout + TimeSpan.FromSeconds(1))
                    .ContinueWith(_ => new PlacedHere(sender, place.Guest, place.IfUnplaced));
            }).Unwrap().PipeTo(Self);
    }

    private sealed record PlacedHere(IActorRef ReplyTo, string Guest, string Placement);

    /// <summary>Counted in this node's view at once, so the next guest placed here already sees it.</summary>
    private void OnPlaced(PlacedHere placed)
    {
        if (!_view.Assignments.TryGetValue(placed.Guest, out var shown) || shown != placed.Placement)
        {
            _view = _view with { Assignments = new Dictionary<string, string>(_view.Assignments, StringComparer.Ordinal) { [placed.Guest] = placed.Placement } };
            _registry.Tell(new PoolProtocol.ViewChanged(_view));
        }
        placed.ReplyTo.Tell(new PoolProtocol.Placed(placed.Placement));
    }

    private IEnumerable<string> AllDevices() =>
        _view.Nodes.Values.SelectMany(n => n.Devices.Select(d => $"{n.Name}/{d.Name}")).Order(StringComparer.Ordinal);

    /// <summary>A node was downed and removed: the leader moves its guests (failover) or leaves them without a device.</summary>
    private void OnRemoved(ClusterEvent.MemberRemoved removed)
    {
        // Found even when a leaving node already withdrew its entry: guests placed on it meanwhile move too.
        if (!_nodeAt.TryGetValue(removed.Member.Address.ToString(), out var gone)) return;
        _lost.Add(gone);
        if (_cluster.State.Leader != _cluster.SelfAddress) return;
        _log.Warning("pool: node {Node} ({Address}) left the cluster; {Action} its guests", gone, removed.Member.Address,
            _settings.Failover ? "moving" : "detaching");
        MoveGuestsOff(gone, $"node {gone} was lost");
        if (_view.Nodes.ContainsKey(gone))
            _replicator.Tell(Dsl.Update(NodesKey, LWWDictionary<string, string>.Empty, new WriteMajority(WriteTimeout), d => d.Remove(SelfNode, gone)));
    }

    /// <summary>Places every guest of <paramref name="node"/> on the least-loaded device elsewhere (or none).</summary>
    private void MoveGuestsOff(string node, string why)
    {
        var counting = _view;
        foreach (var (guest, placement) in _view.Assignments.Where(a => PoolView.Split(a.Value)?.Node == node).ToList())
        {
            string target = _settings.Failover ? counting.LeastLoaded(except: node) ?? PoolView.None : PoolView.None;
            counting = counting with { Assignments = new Dictionary<string, string>(counting.Assignments) { [guest] = target } };
            _log.Info("pool: guest {Guest} moves from {From} to {To} ({Reason})", guest, placement, target, why);
            Write(AssignmentsKey, guest, target, new WriteMajority(WriteTimeout));
        }
    }

    /// <summary>Leaving gracefully: this node's guests go elsewhere and it stops being offered, before it leaves the cluster.</summary>
    private void Drain()
    {
        var sender = Sender;
        // The replicator's own copy: subscribers hear of changes only every half second.
        _replicator.Ask<IGetResponse>(Dsl.Get(AssignmentsKey, ReadLocal.Instance), WriteTimeout)
            .PipeTo(Self, success: r => new Draining(sender, r), failure: _ => new Draining(sender, null));
    }

    private sealed record Draining(IActorRef ReplyTo, IGetResponse? Latest);

    private void OnDraining(Draining draining)
    {
        var sender = draining.ReplyTo;
        if (draining.Latest is GetSuccess latest)
            _view = _view with { Assignments = latest.Get(AssignmentsKey).Entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal) };
        MoveGuestsOff(_settings.NodeName, $"node {_settings.NodeName} is leaving");
        Timers.Cancel("publish");
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
            unreachable.Contains(n.AkkaAddress) ? "Unreachable" : members.GetValueOrDefault(n.AkkaAddress, "Removed"),
            n.Advertise,
            n.Devices.Select(d => new ControlProtocol.ClusterDeviceStatus(d.Name, d.Kind, d.MemoryBytes, d.LiveBytes,
                _view.Assignments.Where(a => a.Value == $"{n.Name}/{d.Name}").Select(a => a.Key).Order(StringComparer.Ordinal).ToList())).ToList()))
            .ToList();
        return new ControlProtocol.ClusterStatus(_settings.NodeName, _cluster.State.Leader?.ToString(), nodes,
            new SortedDictionary<string, string>(_view.Assignments.ToDictionary(a => a.Key, a => a.Value), StringComparer.Ordinal), !_settings.Tls.Enabled);
    }
}
