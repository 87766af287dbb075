using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Guest.Shim;
using PvDrm.Actors.Host.Control;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>/user/proxy</c>: the guest proxy, the analog of pvdrm-front. Holds the one connection to
/// the host and serves local applications on its own socket with the same protocol, one
/// <see cref="AppSession"/> per application. Each application context becomes its own host
/// context, so applications of one guest are as isolated from each other as guests are.
/// </summary>
public sealed class GuestProxy : ReceiveActor
{
    public const string Name = "proxy";

    private readonly ProxySettings _settings;
    private readonly UpstreamLink _upstream;
    private readonly Action<string> _onUpstreamLost;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ContextIds _contextIds;
    private readonly ProxyCache _cache;
    private readonly GuestNames _names;
    private IActorRef _cacheActor = ActorRefs.Nobody;
    private UnixListener? _listener;
    private GuestRegion? _region;
    private ulong _nextApp;

    public GuestProxy(ProxySettings settings, UpstreamLink upstream, Action<string> onUpstreamLost)
    {
        _settings = settings;
        _upstream = upstream;
        _onUpstreamLost = onUpstreamLost;
        _names = new GuestNames(settings.Sharing, settings.NamesPerApplication);
        _contextIds = new ContextIds { PerApplication = settings.ContextsPerApplication };
        _cache = new ProxyCache(settings.Cache, movesByName: settings.Sharing != NameSharing.Host);

        Receive<ProxyProtocol.AppConnected>(a =>
        {
            ulong id = NextApp();
            // An application may move its frames into a shared ring later (RING_ATTACH): the link reads through a connection that can.
            var connection = _settings.Ring.Enabled && a.Connection is SeqPacketConnection unix ? new Native.Io.Ring.RingServerConnection(unix) : a.Connection;
            var link = new AppLink(connection, _upstream, id, maxInFlight: _settings.Upstream.RequestsPerApplication, _settings.Ring);
            var session = Context.ActorOf(AppSession.Props(link, _upstream, _contextIds, id, _cache, _cacheActor, _names, _region), $"app-{id}");
            link.Start(session);
        });
        Receive<CacheActor.Reclaim>(r => _cacheActor.Forward(r));
        Receive<ControlProtocol.Request>(_ => Sender.Tell(new ControlProtocol.Response(true, "ok", Proxy: new ControlProtocol.ProxyStatus(
            _settings.Name, _settings.Host, Applications,
            _cache.Pool.Stats(), _cache.Named, _upstream.OnRing))));
        Receive<ProxyProtocol.UpstreamLost>(lost =>
        {
            _log.Error("connection to the host lost ({Reason}); closing {Applications} application(s)", lost.Reason, Applications);
            _onUpstreamLost(lost.Reason);
            Context.Stop(Self);
        });
    }

    private int Applications => Context.GetChildren().Count(c => c.Path.Name.StartsWith("app-", StringComparison.Ordinal));

    /// <param name="onUpstreamLost">Called once if the host goes away (the executable exits then).</param>
    public static Props Props(ProxySettings settings, UpstreamLink upstream, Action<string> onUpstreamLost) =>
        Akka.Actor.Props.Create(() => new GuestProxy(settings, upstream, onUpstreamLost));

    protected override void PreStart()
    {
        Native.Io.EventLoop.Default.Poll = _settings.IoPoll;
        _cacheActor = Context.ActorOf(CacheActor.Props(_cache, _upstream), "cache");
        if (_settings.ControlUnix is { } control) Context.ActorOf(ControlActor.Props(control, Self, "status"), "control");
        _region = GuestRegion.Open(_settings.SharedMemory);
        if (_region != null) _log.Info("shared region with the host: {0}, {1} bytes", _region.Path, _region.Size);
        if (_settings.ShimUnix is { } shim)
            Context.ActorOf(ShimListener.Props(ProxySettings.UnixPath(shim), _upstream, _contextIds, NextApp, _cache, _cacheActor, _names, _region), ShimListener.Name);
        _upstream.LossListener = Self;
        string path = ProxySettings.UnixPath(_settings.Listen);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var self = Self;
        _listener = new UnixListener(path, Convert.ToUInt32("660", 8),
            (fd, peer) => self.Tell(new ProxyProtocol.AppConnected(new SeqPacketConnection(fd, _settings.Connection, peer: peer))));
        _log.Info("PvDrm guest proxy {Guest} ready: host {Host}, serving {Listen}", _settings.Name, _settings.Host, _settings.Listen);
    }

    /// <summary>Application ids, shared with the DRM files of unmodified programs (the cache tells applications apart by them).</summary>
    private ulong NextApp() => Interlocked.Increment(ref _nextApp);

    protected override void PostStop()
    {
        _listener?.Dispose();
        _region?.Dispose();
        _upstream.Close("proxy stopped");
    }

    // A failing application session ends that application only.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "application session {Application} failed and is disconnected", Sender.Path.Name);
        return Directive.Stop;
    });
}

/// <summary>Host context ids for every application context behind one proxy: unique on the host link.</summary>
internal sealed class ContextIds
{
    private uint _last;

    /// <summary>Contexts one application may have open at once (pvdrm.guest.contexts-per-application).</summary>
    public int PerApplication { get; init; } = 64;

    public uint Next() => Interlocked.Increment(ref _last);
}
