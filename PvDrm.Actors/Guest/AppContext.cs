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
/// objects. Fence numbers need no translation: the host context sees exactly this context's PUSHBUFs.
/// </summary>
internal sealed class AppContext : ReceiveActor
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
    private bool _open;

    public AppContext(UpstreamLink upstream, uint appId, uint hostId, ulong app, ProxyCache? cache, IActorRef cacheActor, NameScope names)
    {
        _names = names;
        _upstream = upstream;
        _appId = appId;
        _hostId = hostId;
        _app = app;
        _cache = cache;
        _cached = new ContextCache(cache, cacheActor, upstream, _handles, app, hostId);

        Receive<OpenContext>(r => Forward(r, r));
        Receive<CloseContext>(r => Forward(r, r));
        Receive<GemNew>(r =>
        {
            if (!_cached.TryServe(r)) NewHandle(r, r.Handle, h => r with { Handle = h });
        });
        Receive<GemClose>(r =>
        {
            if (_cached.TryKeep(r)) return;
            // Unmapped at once: the application may reuse the handle before the host has answered.
            if (_handles.TryRemove(r.Handle, out uint host))
            {
                _cached.Closed(host);
                _names.Names.Closed(_names.Owner, new HostHandle(_hostId, host));
                Forward(r, r with { Handle = host });
            }
            else UnknownHandle(r, r.Handle);
        });
        Receive<GemImport>(r =>
        {
            // Refused alike whether or not the cache uses the name, so its names cannot be told apart.
            if (_names.Names.Refusal(r.Name, _names.Owner) is { } refusal)
                r.Fail(Errno.EACCES, refusal);
            else if (_cache?.IsInternalName(r.Name) == true)
                r.Fail(Errno.ENOENT, $"GEM_IMPORT: no GEM object has the global name {r.Name} for this guest");
            else NewHandle(r, r.Handle, h => r with { Handle = h });
        });
        Receive<PrimeImport>(r => NewHandle(r, r.Handle, h => r with { Handle = h })); // the descriptor rides along
        Receive<GemExport>(r =>
        {
            // Names are guest-wide (no translation), and each application holds a bounded number.
            if (!_handles.TryGetHost(r.Handle, out uint host)) UnknownHandle(r, r.Handle);
            else if (_names.Names.Reserve(_names.Owner, new HostHandle(_hostId, host)) is { } refusal) r.Fail(Errno.ENOSPC, refusal);
            else WithHandle(r, r.Handle, h => Shared(h, r with { Handle = h }));
        });
        Receive<PrimeExport>(r => WithHandle(r, r.Handle, h => Shared(h, r with { Handle = h })));
        Receive<GemInfo>(r => WithHandle(r, r.Handle, h => r with { Handle = h }));
        Receive<GemMap>(r =>
        {
            // A descriptor this context had before answers without the host (a cache hit saves the map too).
            if (_handles.TryGetHost(r.Handle, out uint host) && _cached.KeptFd(host) is { } fd)
            {
                _cache!.Pool.CountSaved(1);
                r.Reply(new Replies.GemMap(MemFdSize(fd), MapOffset.Of(r.Handle)), fd);
            }
            else WithHandle(r, r.Handle, h => r with { Handle = h });
        });
        Receive<GemRead>(r => WithHandle(r, r.Handle, h => r with { Handle = h }));
        Receive<GemWrite>(r => WithHandle(r, r.Handle, h => r with { Handle = h }));
        Receive<CpuPrep>(r => WithHandle(r, r.Handle, h => r with { Handle = h }));
        Receive<CpuFini>(r => WithHandle(r, r.Handle, h => r with { Handle = h }));
        Receive<ChannelAlloc>(r =>
        {
            if (r.Channel == 0) r.Fail(Errno.EINVAL, "CHANNEL_ALLOC: channel 0 is reserved; choose a non-zero id");
            else if (!_channels.TryAdd(r.Channel, out uint host)) r.Fail(Errno.EEXIST, $"CHANNEL_ALLOC: channel {r.Channel} is already allocated in context {_appId}");
            else Forward(r, r with { Channel = host });
        });
        Receive<ChannelFree>(r =>
        {
            if (_channels.TryRemove(r.Channel, out uint host)) Forward(r, r with { Channel = host });
            else r.Fail(Errno.ENOENT, $"CHANNEL_FREE: channel {r.Channel} is not allocated in context {_appId}");
        });
        Receive<Requests.Pushbuf>(Pushbuf);
        Receive<FenceWait>(r => Forward(r, r));
        Receive<Request>(r => r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not supported inside a context"));
        Receive<ProxyProtocol.UpstreamReply>(OnReply);
    }

    public static Props Props(UpstreamLink upstream, uint appId, uint hostId, ulong app, ProxyCache? cache, IActorRef cacheActor, NameScope names) =>
        Akka.Actor.Props.Create(() => new AppContext(upstream, appId, hostId, app, cache, cacheActor, names));

    private Request Shared(uint host, Request hostRequest)
    {
        _cached.Shared(host);
        return hostRequest;
    }

    private static ulong MemFdSize(FileDescriptor fd) => Native.Memory.MemFd.SizeOf(fd);

    /// <summary>Sends the translated <paramref name="hostRequest"/>; the reply comes back with <paramref name="appRequest"/>.</summary>
    private void Forward(Request appRequest, Request hostRequest) =>
        _upstream.Forward(_app, hostRequest with { Context = _hostId }, Self, appRequest);

    /// <summary>A request that creates a handle: map the application's new handle to a fresh host one.</summary>
    private void NewHandle(Request r, uint appHandle, Func<uint, Request> translate)
    {
        if (appHandle == 0) r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: handle 0 is reserved; choose a non-zero handle");
        else if (!_handles.TryAdd(appHandle, out uint host)) r.Fail(Errno.EEXIST, $"{OpTable.NameOf(r.Op)}: handle {appHandle} is already in use in context {_appId}");
        else Forward(r, translate(host));
    }

    private void WithHandle(Request r, uint appHandle, Func<uint, Request> translate)
    {
        if (_handles.TryGetHost(appHandle, out uint host)) Forward(r, translate(host));
        else UnknownHandle(r, appHandle);
    }

    private void UnknownHandle(Request r, uint handle) =>
        r.Fail(Errno.ENOENT, $"{OpTable.NameOf(r.Op)}: handle {handle} is not a GEM object in context {_appId}");

    private void Pushbuf(Requests.Pushbuf r)
    {
        if (!_channels.TryGetHost(r.Channel, out uint channel))
        {
            r.Fail(Errno.ENOENT, $"PUSHBUF: channel {r.Channel} is not allocated in context {_appId}");
            return;
        }
        var buffers = new PushbufBuffer[r.Buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            if (!_handles.TryGetHost(r.Buffers[i].Handle, out uint host))
            {
                r.Fail(Errno.ENOENT, $"PUSHBUF: buffer {i}: handle {r.Buffers[i].Handle} is not a GEM object in context {_appId}");
                return;
            }
            buffers[i] = r.Buffers[i] with { Handle = host };
        }
        Forward(r, r with { Channel = channel, Buffers = buffers });
    }

    private void OnReply(ProxyProtocol.UpstreamReply u)
    {
        bool ok = u.Reply.Status == 0;
        switch (u.AppRequest)
        {
            case OpenContext:
                _open = ok;
                u.Relay(u.Reply.Payload);
                if (!ok) Context.Stop(Self);
                break;
            case CloseContext:
                _open = false;
                u.Relay(u.Reply.Payload);
                Context.Stop(Self);
                break;
            case GemNew or GemImport or PrimeImport when !ok:
                _handles.TryRemove(NewHandleOf(u.AppRequest), out _);
                u.Relay(default);
                break;
            case GemNew or GemImport or PrimeImport:
                var opened = u.Reply.Read<Replies.GemInfo>();
                if (u.AppRequest is GemImport byName) _names.Names.Imported(byName.Name, _names.Owner, new HostHandle(_hostId, opened.Handle));
                _cached.Opened(opened.Handle, new GemShape(opened.Size, opened.Domain, (u.AppRequest as GemNew)?.GemFlags ?? 0), shared: u.AppRequest is not GemNew);
                RelayInfo(u, opened);
                break;
            case ChannelAlloc c when !ok:
                _channels.TryRemove(c.Channel, out _);
                u.Relay(default);
                break;
            case GemInfo when ok:
                RelayInfo(u, u.Reply.Read<Replies.GemInfo>());
                break;
            case GemExport e:
                // A handle closed meanwhile keeps no name: the place reserved for it is given back.
                bool kept = _handles.TryGetHost(e.Handle, out uint named) && ok;
                _names.Names.Exported(kept ? u.Reply.Read<Replies.Name>().Number : 0, _names.Owner, new HostHandle(_hostId, named));
                u.Relay(ok ? u.Reply.Payload : default);
                break;
            case GemMap m when ok:
                if (u.Reply.Fd != null && _handles.TryGetHost(m.Handle, out uint mappedHost)) _cached.Mapped(mappedHost, u.Reply.Fd);
                RelayMap(u, m.Handle);
                break;
            case PrimeExport p when ok:
                RelayMap(u, p.Handle);
                break;
            default:
                u.Relay(u.Reply.Payload);
                break;
        }
    }

    /// <summary>Relays a GEM_MAP or PRIME_EXPORT reply (its descriptor rides along) with the application's map offset.</summary>
    private static void RelayMap(ProxyProtocol.UpstreamReply u, uint appHandle) =>
        Relay(u, u.Reply.Read<Replies.GemMap>() with { MapOffset = MapOffset.Of(appHandle) });

    /// <summary>Relays GEM info with the application's handle (and its map offset) in place of the host's.</summary>
    private void RelayInfo(ProxyProtocol.UpstreamReply u, in Replies.GemInfo info)
    {
        uint app = _handles.TryGetApp(info.Handle, out uint a) ? a : 0;
        Relay(u, info with { Handle = app, MapOffset = MapOffset.Of(app) });
    }

    private static uint NewHandleOf(Request r) => r switch
    {
        GemNew n => n.Handle,
        GemImport i => i.Handle,
        PrimeImport p => p.Handle,
        _ => 0,
    };

    private static void Relay<T>(ProxyProtocol.UpstreamReply u, in T payload) where T : IReplyPayload<T>
    {
        Span<byte> buffer = stackalloc byte[payload.Size];
        var w = new WireWriter(buffer);
        payload.Write(ref w);
        u.Relay(buffer);
    }

    protected override void PostStop()
    {
        foreach (uint host in _handles.HostIds) _names.Names.Closed(_names.Owner, new HostHandle(_hostId, host));
        bool closeNow = _cached.Retire(out var dropped);
        if (!_open) return;
        if (closeNow)
        {
            // The application left without closing: close the host context and all it holds.
            _upstream.Post(_app, new CloseContext { Context = _hostId });
            return;
        }
        // The cache still holds objects in this host context: it stays open for them (closing
        // when they are gone), and everything else the application held is closed now.
        foreach (uint host in _handles.HostIds.Concat(dropped)) _upstream.Post(_app, new GemClose(host) { Context = _hostId });
        foreach (uint channel in _channels.HostIds) _upstream.Post(_app, new ChannelFree(channel) { Context = _hostId });
    }
}
