using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm</c>: the host's root. Starts the devices, the gate (sequential mode), the guest
/// registry and the listener; on stop, the guests go first (each told why), then the socket file
/// and the devices.
/// </summary>
public sealed class PvDrmHost : ReceiveActor
{
    public const string Name = "pvdrm";

    private readonly HostSettings _settings;
    private readonly HostDevices _devices;
    private readonly Pool.ClusterSettings _cluster;
    private readonly Admission _admission;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _guests = ActorRefs.Nobody;
    private UnixListener? _listener;
    private readonly List<StreamListener> _streams = new();
    private Metrics.HostMetrics? _metrics;
    // The pool actor's counts, read by status and the metrics.
    private readonly Pool.PoolCounters PoolCounters = new();
    private readonly SettingsReload? _reload;
    private bool _serving; // read by /readyz from the HTTP listener's threads

    public PvDrmHost(HostSettings settings, HostDevices devices, Admission admission, Pool.ClusterSettings cluster, SettingsReload? reload)
    {
        _reload = reload;
        _settings = settings;
        _devices = devices;
        _cluster = cluster;
        _admission = admission;
        Receive<AdmissionProtocol.Accept>(a => _guests.Forward(a));
        // Admin requests go through here: unlike an actor selection, the mailbox only runs after PreStart made the registry.
        Receive<ControlProtocol.Request>(r => _guests.Forward(r));
        Receive<GetListening>(_ => Sender.Tell(Listening.ToArray()));
    }

    /// <summary>Asks for the addresses guests can connect to (string[]).</summary>
    public sealed record GetListening
    {
        public static GetListening Instance { get; } = new();
    }

    /// <param name="devices">Opened (and checked) by the caller; the host disposes them when it stops.</param>
    /// <param name="admission">Loaded by the caller (a bad tokens file stops start-up); by default from <paramref name="settings"/>.</param>
    /// <param name="cluster">A node of a pool when enabled (the actor system must then be a cluster node).</param>
    /// <param name="reload">Reads the configuration again for `reload` and SIGHUP; null: the host cannot.</param>
    public static Props Props(HostSettings settings, HostDevices devices, Admission? admission = null, Pool.ClusterSettings? cluster = null,
        SettingsReload? reload = null)
    {
        admission ??= Admission.Load(settings.Auth);
        cluster ??= new Pool.ClusterSettings();
        return Akka.Actor.Props.Create(() => new PvDrmHost(settings, devices, admission, cluster, reload));
    }

    /// <summary>A host of one device, every guest's (tests and tools).</summary>
    public static Props Props(HostSettings settings, IGpuDevice device, Admission? admission = null) =>
        Props(settings, HostDevices.Single(device), admission);

    protected override void PreStart()
    {
        Native.Io.EventLoop.Default.Poll = _settings.IoPoll;
        Context.ActorOf(DeadRequests.Props(), "dead-requests");
        var routes = Gate.SequentialGate.Start(Context, _settings.SequentialTurn, _settings.Sequential);
        if (_settings.MetricsListen != null) _metrics = new Metrics.HostMetrics();
        var places = new UnadmittedConnections(_settings.Admission, new RefusalLog(_log));
        _guests = Context.ActorOf(GuestRegistry.Props(_settings, _devices, routes, _admission, _metrics, _cluster, places, _reload), "guests");
        if (_cluster.Enabled) StartPool();
        if (_settings.ControlUnix is { } control)
            Context.ActorOf(ControlActor.Props(control, _guests, ControlProtocol.AnswerWithin(_settings.RequestTimeout), AdminCommand.Names), "control");
        if (_settings.Auth.TokensFile is { } tokens && Admission.IsExposed(tokens))
            _log.Warning("{TokensFile} is readable by other users; tokens should be readable only by the host's user (chmod 600)", tokens);
        foreach (int uid in _admission.UidsForAnyName)
            _log.Warning("uid {Uid} (pvdrm.host.auth.unix-uids) may take any guest name without a token or uid-names binding; list its names in pvdrm.host.auth.uid-names", uid);

        var guests = _guests;
        if (_settings.ListenUnix is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var options = _settings.Connection;
            // A place among the unadmitted is taken as the connection is accepted, before anything is built for it.
            _listener = new UnixListener(path, _settings.ListenUnixMode, (fd, peer) =>
            {
                if (places.TryAccept(fd, RefusalLog.PeerKey(peer, ""), peer.ToString(), stream: false))
                    guests.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(fd, options, peer: peer)) { Counted = true });
            });
        }
        var streamOptions = _settings.Connection;
        void Accept(FileDescriptor fd, string transport, string peer)
        {
            if (places.TryAccept(fd, RefusalLog.PeerKey(null, peer), peer, stream: true))
                guests.Tell(new AdmissionProtocol.Accept(new StreamConnection(fd, transport, streamOptions, peerName: peer)) { Counted = true });
        }
        if (_settings.ListenTcp is { } tcp) _streams.Add(StreamListener.Tcp(tcp, (fd, peer) => Accept(fd, "tcp", peer)));
        if (_settings.ListenVsock is var (cid, port)) _streams.Add(StreamListener.Vsock(cid, port, (fd, peer) => Accept(fd, "vsock", peer)));

        if (_metrics != null)
        {
            var registry = _guests;
            _metrics.Start(_settings.MetricsListen!, _settings, async ct =>
                (await registry.Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), TimeSpan.FromSeconds(5), ct)).Status!,
                () => Volatile.Read(ref _serving) ? null : "not serving guests: the host is stopping");
            if (_cluster.Enabled) _metrics.AddPool(PoolCounters);
            _log.Info("Prometheus metrics at {MetricsUrl}", _metrics.Url);
        }
        Volatile.Write(ref _serving, true);
        // Not ready as soon as a shutdown begins, before the guests are drained and the sockets close.
        CoordinatedShutdown.Get(Context.System).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "pvdrm-not-ready", () =>
        {
            Volatile.Write(ref _serving, false);
            return Task.FromResult(Akka.Done.Instance);
        });
        _log.Info("PvDrm host ready: devices {Devices} (default {DefaultDevice}), {Mode} mode, listening on {Listening}",
            string.Join(", ", _devices.All.Select(d => $"{d.Name} ({d.Info.Driver})")), _devices.Default ?? "none",
            _settings.Sequential ? "sequential" : "concurrent", string.Join(", ", Listening));
    }

    /// <summary>
    /// A node of a pool: the pool actor shares devices and placements with the other nodes, and
    /// on a graceful stop moves this node's guests elsewhere before the node leaves the cluster.
    /// </summary>
    private void StartPool()
    {
        var pool = Context.ActorOf(Pool.PoolActor.Props(_cluster, _devices, _guests, PoolCounters), "pool");
        _guests.Tell(new Pool.PoolProtocol.Started(pool));
        CoordinatedShutdown.Get(Context.System).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "pvdrm-drain", async () =>
        {
            try
            {
                await pool.Ask<Pool.PoolProtocol.Done>(new Pool.PoolProtocol.Drain(), TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is AskTimeoutException or ActorNotFoundException or TaskCanceledException)
            {
                // Leaving anyway: the leader moves what is left once the node is gone.
            }
            return Akka.Done.Instance;
        });
        _log.Info("pool node {Node}: Akka.Cluster at {Address}, guests redirected here at {Advertise}, {Transport}",
            _cluster.NodeName, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, string.Join(", ", _cluster.Advertise),
            _cluster.Tls.Enabled ? "mutual TLS with the pool's CA" : "no TLS");
        if (!_cluster.Tls.Enabled)
            _log.Warning("pool node {Node} runs WITHOUT TLS (pvdrm.cluster.insecure = on): anyone who reaches {Address} can join the pool and read or rewrite its placements",
                _cluster.NodeName, Akka.Cluster.Cluster.Get(Context.System).SelfAddress);
    }

    /// <summary>Every address guests can reach this host on (with the port the kernel chose for port 0).</summary>
    private IEnumerable<string> Listening =>
        (_listener != null ? new[] { $"unix:{_listener.Path}" } : Array.Empty<string>()).Concat(_streams.Select(l => l.Address));

    // Runs after every child (and so every guest) has stopped.
    protected override void PostStop()
    {
        _listener?.Dispose();
        foreach (var l in _streams) l.Dispose();
        _metrics?.Dispose();
        _devices.Dispose();
        _log.Info("PvDrm host stopped");
    }
}
