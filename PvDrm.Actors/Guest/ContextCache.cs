using Akka.Actor;
using PvDrm.Client;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// One application context's side of the proxy's GEM cache: what it knows of each host object
/// (shape, mapped by the application, shared, its descriptor if one passed through), and the
/// decisions at GEM_NEW, GEM_CLOSE and GEM_MAP. A no-op when the cache is off.
/// </summary>
internal sealed class ContextCache
{
    // Name: the object's global name once the cache gave it one (it lives as long as the object).
    private record struct HandleState(GemShape Shape, bool Mapped, bool Shared, FileDescriptor? Fd, uint Name = 0);

    private readonly ProxyCache? _cache;
    private readonly IActorRef _cacheActor;
    private readonly UpstreamLink _upstream;
    private readonly IdMap _handles;
    private readonly ulong _app;
    private readonly uint _hostContext;
    private readonly Dictionary<uint, HandleState> _states = new();

    // Host handles a request was sent for (PUSHBUF, copies, CPU_PREP, a move's GEM_IMPORT...) since
    // the object was created or taken from the pool: closing one of these waits for it (CPU_PREP).
    private readonly HashSet<uint> _touched = new();

    public ContextCache(ProxyCache? cache, IActorRef cacheActor, UpstreamLink upstream, IdMap handles, ulong app, uint hostContext)
    {
        (_cache, _cacheActor, _upstream, _handles, _app, _hostContext) = (cache, cacheActor, upstream, handles, app, hostContext);
    }

    private bool Enabled => _cache is { Enabled: true };

    /// <summary>The host created or opened an object in this context.</summary>
    public void Opened(uint host, GemShape shape, bool shared)
    {
        if (Enabled) _states[host] = new HandleState(shape, false, shared, null);
    }

    /// <summary>Exported: others may hold it now, so it is never cached.</summary>
    public void Shared(uint host)
    {
        if (_states.TryGetValue(host, out var s)) _states[host] = s with { Shared = true };
    }

    /// <summary>A GEM_MAP reply passed its descriptor to the application: keep a copy (none for the shared region's file), and remember it was mapped.</summary>
    public void Mapped(uint host, FileDescriptor? fd)
    {
        if (_states.TryGetValue(host, out var s)) _states[host] = s with { Mapped = true, Fd = s.Fd ?? fd?.Duplicate() };
    }

    /// <summary>The descriptor of an object this context mapped before (or got from the cache), to answer GEM_MAP locally.</summary>
    public FileDescriptor? KeptFd(uint host) => _states.TryGetValue(host, out var s) ? s.Fd : null;

    /// <summary>The handle is closed on the host.</summary>
    public void Closed(uint host)
    {
        _touched.Remove(host);
        if (_states.Remove(host, out var s)) s.Fd?.Dispose();
    }

    /// <summary>A request naming <paramref name="host"/> goes to the host: work may run on the object until the cache waits for it.</summary>
    public void Touched(uint host)
    {
        if (Enabled) _touched.Add(host);
    }

    /// <summary>
    /// GEM_NEW from the pool: the best-fitting cached object this context may take, answered at
    /// once. An object from another context is opened here by name first (zeroed if another
    /// application had it), in order with this application's next requests.
    /// </summary>
    public bool TryServe(GemNew r)
    {
        if (!Enabled || r.Handle == 0 || r.Size == 0 || _handles.TryGetHost(r.Handle, out _)) return false;
        var pool = _cache!.Pool;
        if (!pool.TryTake(new GemShape((r.Size + 4095) & ~4095UL, r.Domain, r.GemFlags), e => e.AvailableTo(_app, _hostContext), out var shape, out var entry))
            return false;
        uint host;
        if (entry.HostContext == _hostContext)
        {
            host = entry.HostHandle;
            _handles.TryMap(r.Handle, host);
            _cache.Left(_hostContext);
        }
        else
        {
            _handles.TryAdd(r.Handle, out host);
            bool scrub = entry.App != _app;
            if (scrub) pool.CountScrub(shape.Size);
            // Sent from here so it is ordered before this application's next requests; its answer
            // goes to the cache actor, which closes the old handle once the import succeeded.
            var cacheActor = _cacheActor;
            _upstream.Forward(_app, new GemImport(entry.Name, host, scrub ? GemImportFlags.Scrub : GemImportFlags.None) { Context = _hostContext },
                cacheActor, reply => cacheActor.Tell(new CacheActor.Imported(entry, reply)));
            _touched.Add(host); // the import (and its scrub) is still on its way

        }
        // Mapped only stays true for the application that mapped it (AvailableTo allows no one else).
        _states[host] = new HandleState(shape, entry.Mapped, false, entry.Fd, entry.Name);
        pool.CountSaved(1);
        r.Reply(new Replies.GemInfo(r.Handle, shape.Domain, shape.Size, MapOffset.Of(r.Handle)));
        return true;
    }

    /// <summary>GEM_CLOSE into the cache instead of the host, for an object nobody else can see (pooled once its work is done).</summary>
    public bool TryKeep(GemClose r)
    {
        if (!Enabled || !_handles.TryGetHost(r.Handle, out uint host) || !_states.TryGetValue(host, out var s) || s.Shared) return false;
        _handles.TryRemove(r.Handle, out _);
        _states.Remove(host);
        var entry = new ProxyCached(_hostContext, host, _app, s.Mapped, s.Fd) { Name = s.Name };
        _cache!.Hold(_hostContext);
        // Not pooled yet: the cache actor waits for the object's GPU work and its name first.
        _cache.Pool.CountSettling(1);
        _cacheActor.Tell(new CacheActor.Settle(entry, s.Shape, Quiet: !_touched.Remove(host)));
        _cache.Pool.CountSaved(1);
        r.Reply();
        return true;
    }

    /// <summary>
    /// The application context is gone. Objects the application mapped are dropped (it may still
    /// hold the mapping); true when the host context can close now, false when it stays open for
    /// the cached objects still in it (the caller then closes everything else in it).
    /// </summary>
    public bool Retire(out List<uint> droppedHandles)
    {
        droppedHandles = new List<uint>();
        foreach (var s in _states.Values) s.Fd?.Dispose();
        _states.Clear();
        _touched.Clear();
        if (!Enabled) return true;
        foreach (var entry in _cache!.Pool.RemoveWhere(e => e.HostContext == _hostContext && e.Mapped))
        {
            entry.Fd?.Dispose();
            droppedHandles.Add(entry.HostHandle);
            _cache.Left(_hostContext);
        }
        return _cache.Retire(_hostContext);
    }
}
