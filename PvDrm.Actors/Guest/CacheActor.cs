using Akka.Actor;
using Akka.Event;
using PvDrm.Client;
using PvDrm.Protocol;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>/user/proxy/cache</c>: the proxy cache's work that no application waits for. It gives
/// pooled objects a global name (so another context can open them), closes an object's old
/// handle once its import elsewhere is confirmed (so it is never left without a handle), frees
/// evicted objects, closes the host contexts of departed applications once the cache holds
/// nothing there, and empties the pool when the host asks (RECLAIM). Each request it sends
/// carries its next step as the continuation of <see cref="UpstreamLink.Forward"/>.
/// </summary>
internal sealed class CacheActor : ReceiveActor
{
    private readonly ProxyCache _cache;
    private readonly UpstreamLink _upstream;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public CacheActor(ProxyCache cache, UpstreamLink upstream)
    {
        _cache = cache;
        _upstream = upstream;

        Receive<Settle>(p => Settling(p.Entry, p.Shape, p.Quiet));
        Receive<Imported>(i => AfterImport(i.Entry, i.Reply));
        Receive<Evicted>(e => Free(e.Entries));
        Receive<Reclaim>(r => Free(_cache.Pool.Drain(r.Bytes)));
        Receive<ProxyProtocol.UpstreamReply>(u => u.Run());
    }

    public static Props Props(ProxyCache cache, UpstreamLink upstream) => Akka.Actor.Props.Create(() => new CacheActor(cache, upstream));

    /// <summary>
    /// An application closed an object into the cache: pool it once its work is done and it has a
    /// name. <paramref name="Quiet"/>: no request named it since it was created or last pooled,
    /// so neither GPU work nor a copy can still be running on it.
    /// </summary>
    public sealed record Settle(ProxyCached Entry, GemShape Shape, bool Quiet);

    /// <summary>
    /// The host answered a GEM_IMPORT a context sent to take a pooled object of another context
    /// (sent by the context, so it is ordered before that application's next requests).
    /// </summary>
    public sealed record Imported(ProxyCached Entry, ReplyFrame Reply);

    public sealed record Evicted(List<ProxyCached> Entries);

    public sealed record Reclaim(ulong Bytes);

    /// <summary>
    /// A closed object enters the pool only once its GPU work and the requests that named it have
    /// finished (a delayed COPY or GEM_READ out of it must not see the next application's data;
    /// CPU_PREP waits for both, being ordered behind them at the object) and it has its name (so
    /// no application can import the name in between). A quiet object has nothing to wait for:
    /// the CPU_PREP round trip is spared.
    /// </summary>
    private void Settling(ProxyCached entry, GemShape shape, bool quiet)
    {
        if (quiet) Idle(entry, shape);
        else
            Forward(entry, new CpuPrep(entry.HostHandle, CpuPrepFlags.Write, 0), reply =>
            {
                if (reply.Status != 0) NeverPooled(entry, reply);
                else Idle(entry, shape);
            });
    }

    /// <summary>Nothing runs on the object any more: name it if it has no name yet, then pool it.</summary>
    private void Idle(ProxyCached entry, GemShape shape)
    {
        if (entry.Name == 0 && _cache.MovesByName) Forward(entry, new GemExport(entry.HostHandle), named => Named(entry, shape, named));
        else Pool(entry, shape);
    }

    private void Named(ProxyCached entry, GemShape shape, ReplyFrame reply)
    {
        if (reply.Status != 0)
        {
            NeverPooled(entry, reply);
            return;
        }
        uint name = reply.Read<Replies.Name>().Number;
        _cache.NameForMoves(name);
        entry.Name = name;
        Pool(entry, shape);
    }

    private void AfterImport(ProxyCached entry, ReplyFrame reply)
    {
        reply.TakeFd()?.Dispose();
        // The object has its new handle (or could not get one): the old one goes either way.
        if (reply.Status != 0) Failed(entry, reply);
        Close(entry);
    }

    /// <summary>Sends <paramref name="request"/> in <paramref name="entry"/>'s host context; <paramref name="then"/> runs here with the reply.</summary>
    private void Forward(ProxyCached entry, Request request, Action<ReplyFrame> then) =>
        _upstream.Forward(entry.App, request with { Context = entry.HostContext }, Self, reply =>
        {
            reply.TakeFd()?.Dispose();
            then(reply);
        });

    private void NeverPooled(ProxyCached entry, ReplyFrame reply)
    {
        Failed(entry, reply);
        _cache.Pool.CountSettling(-1);
        Close(entry);
    }

    private void Failed(ProxyCached entry, ReplyFrame reply) =>
        _log.Warning("GEM cache: {Op} for host object {Handle} in context {Context} failed: {Reason}",
            OpTable.NameOf(reply.Header.Op), entry.HostHandle, entry.HostContext, reply.Message);

    /// <summary>A settled object enters the pool, unless only its departed context could have taken it.</summary>
    private void Pool(ProxyCached entry, GemShape shape)
    {
        _cache.Pool.CountSettling(-1);
        if (entry.Mapped && _cache.IsRetired(entry.HostContext))
        {
            Free([entry]);
            return;
        }
        Free(_cache.Pool.Add(shape, entry));
    }

    private void Free(List<ProxyCached> entries)
    {
        foreach (var entry in entries)
        {
            entry.Fd?.Dispose();
            Close(entry);
        }
    }

    /// <summary>Closes the cache's handle on <paramref name="entry"/>, and its host context if that was the last thing keeping it.</summary>
    private void Close(ProxyCached entry)
    {
        _upstream.Post(entry.App, new GemClose(entry.HostHandle) { Context = entry.HostContext });
        if (_cache.Left(entry.HostContext)) _upstream.Post(entry.App, new CloseContext { Context = entry.HostContext });
    }
}
