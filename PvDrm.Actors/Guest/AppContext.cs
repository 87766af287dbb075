using Akka.Actor;
using PvDrm.Client;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>app-&lt;n&gt;/ctx-&lt;id&gt;</c>: the proxy side of one application context, mirroring the
/// host's context actor. It owns one host context and translates the application's context id,
/// GEM handles and channel ids to the host's and back, so an application can only name its own
/// objects. Each operation is written once: its translation, and what its reply does, captured
/// as the continuation when it is forwarded. Fence numbers need no translation: the host context
/// sees exactly this context's PUSHBUFs.
/// </summary>
/// <remarks>
/// States: <see cref="Open"/> from the start (requests after OPEN_CONTEXT are pipelined: the host
/// orders them after it), <see cref="Closing"/> once CLOSE_CONTEXT is on its way, and stopped.
/// What a stop releases on the host is the current state's (<see cref="_release"/>).
/// </remarks>
internal sealed partial class AppContext : ReceiveActor
{
    private readonly UpstreamLink _upstream;
    private readonly uint _appId;
    private readonly uint _hostId;
    private readonly ulong _app;
    private readonly IdMap _handles = new();
    private readonly IdMap _channels = new();
    private readonly ProxyCache? _cache;
    private readonly ContextCache _cached;
    private readonly NameScope _names;
    private readonly GuestRegion? _region;
    private Action<bool, List<uint>> _release;

    public AppContext(UpstreamLink upstream, uint appId, uint hostId, ulong app, ProxyCache? cache, IActorRef cacheActor, NameScope names, GuestRegion? region)
    {
        _names = names;
        _region = region;
        _upstream = upstream;
        _appId = appId;
        _hostId = hostId;
        _app = app;
        _cache = cache;
        _cached = new ContextCache(cache, cacheActor, upstream, _handles, app, hostId);
        _release = ReleaseOnHost;
        Open();
    }

    public static Props Props(UpstreamLink upstream, uint appId, uint hostId, ulong app, ProxyCache? cache, IActorRef cacheActor, NameScope names, GuestRegion? region) =>
        Akka.Actor.Props.Create(() => new AppContext(upstream, appId, hostId, app, cache, cacheActor, names, region));

    /// <summary>The host context is open (or opening): every operation is translated and forwarded.</summary>
    private void Open()
    {
        Receive<ProxyProtocol.UpstreamReply>(u => u.Run());
        Receive<OpenContext>(r => Forward(r, r, reply =>
        {
            r.Relay(reply);
            if (reply.Status != 0) Stop(); // the host has no context to release
        }));
        Receive<CloseContext>(r =>
        {
            Become(Closing);
            Forward(r, r, reply =>
            {
                r.Relay(reply);
                Stop();
            });
        });
        ReceiveOperations();
        Receive<Request>(r => r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not supported inside a context"));
    }

    /// <summary>CLOSE_CONTEXT is on its way: the host releases everything; nothing else is sent.</summary>
    private void Closing()
    {
        _release = NothingOnHost;
        Receive<ProxyProtocol.UpstreamReply>(u => u.Run());
        Receive<Request>(r => r.Fail(Errno.EBADF, $"{OpTable.NameOf(r.Op)}: context {_appId} is closing"));
    }

    private void Stop()
    {
        _release = NothingOnHost;
        Context.Stop(Self);
    }

    /// <summary>Sends the translated <paramref name="hostRequest"/>; <paramref name="then"/> runs here with its reply.</summary>
    internal void Forward(Request appRequest, Request hostRequest, Action<ReplyFrame> then) =>
        _upstream.Forward(_app, hostRequest with { Context = _hostId }, Self, then);

    /// <summary>Sends the translated <paramref name="hostRequest"/> and relays its reply as it is.</summary>
    internal void Forward(Request appRequest, Request hostRequest) => Forward(appRequest, hostRequest, reply => appRequest.Relay(reply));

    protected override void PostStop()
    {
        foreach (uint host in _handles.HostIds) _names.Names.Closed(_names.Owner, new HostHandle(_hostId, host));
        bool closeNow = _cached.Retire(out var dropped);
        _release(closeNow, dropped);
    }

    /// <summary>The host context is closed or was never opened.</summary>
    private static void NothingOnHost(bool closeNow, List<uint> dropped) { }

    /// <summary>The application left without closing (or before the open was answered): release what it holds on the host.</summary>
    private void ReleaseOnHost(bool closeNow, List<uint> dropped)
    {
        if (closeNow)
        {
            // Close the host context and all it holds (after the open, if that is still on its way).
            _upstream.Post(_app, new CloseContext { Context = _hostId });
            return;
        }
        // The cache still holds objects in this host context: it stays open for them (closing
        // when they are gone), and everything else the application held is closed now.
        foreach (uint host in _handles.HostIds.Concat(dropped)) _upstream.Post(_app, new GemClose(host) { Context = _hostId });
        foreach (uint channel in _channels.HostIds) _upstream.Post(_app, new ChannelFree(channel) { Context = _hostId });
    }
}
