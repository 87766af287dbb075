using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Protocol;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>/user/proxy/cache</c>: the proxy cache's work that no application waits for. It gives
/// pooled objects a global name (so another context can open them), closes an object's old
/// handle once its import elsewhere is confirmed (so it is never left without a handle), frees
/// evicted objects, closes the host contexts of departed applications once the cache holds
/// nothing there, and empties the pool when the host asks (RECLAIM).
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

        Receive<Pooled>(p =>
        {
            Free(p.Evicted);
            // A name lets another context open it; one evicted at once needs none, and one that
            // has been round the pool before keeps the name it got then.
            if (!p.Evicted.Contains(p.Entry) && p.Entry.Name == 0)
                _upstream.Forward(new GemExport(p.Entry.HostHandle) { Context = p.Entry.HostContext }, Self, new Ticket(p.Entry));
        });
        Receive<Evicted>(e => Free(e.Entries));
        Receive<Reclaim>(r => Free(_cache.Pool.Drain(r.Bytes)));
        Receive<ProxyProtocol.UpstreamReply>(OnReply);
    }

    public static Props Props(ProxyCache cache, UpstreamLink upstream) => Akka.Actor.Props.Create(() => new CacheActor(cache, upstream));

    /// <summary>An object went into the pool (and these had to leave it).</summary>
    public sealed record Pooled(ProxyCached Entry, List<ProxyCached> Evicted);

    public sealed record Evicted(List<ProxyCached> Entries);

    public sealed record Reclaim(ulong Bytes);

    /// <summary>
    /// Marks a request sent on the cache's behalf; its reply comes back here with it. A context that
    /// takes an object from another sends the GEM_IMPORT itself (so it is ordered before that
    /// application's next requests) with a ticket, and this actor closes the old handle once it succeeded.
    /// </summary>
    internal sealed record Ticket(ProxyCached Entry) : Request
    {
        public override Op Op => Op.GemExport;
        public override int BodySize => 0;
        public override void WriteBody(ref WireWriter writer) { }
    }

    private void OnReply(ProxyProtocol.UpstreamReply u)
    {
        u.Reply.TakeFd()?.Dispose();
        var entry = ((Ticket)u.AppRequest).Entry;
        switch (u.Reply.Header.Op)
        {
            case Op.GemExport when u.Reply.Status == 0:
                uint name = u.Reply.Read<Replies.Name>().Number;
                _cache.NameForMoves(name);
                entry.Name = name;
                break;
            case Op.GemImport when u.Reply.Status == 0:
                // The object has its new handle: now the old one may go.
                Close(entry);
                break;
            default:
                _log.Warning("GEM cache: {Op} for host object {Handle} in context {Context} failed: {Reason}",
                    OpTable.NameOf(u.Reply.Header.Op), entry.HostHandle, entry.HostContext, u.Reply.Message);
                if (u.Reply.Header.Op == Op.GemImport) Close(entry);
                break;
        }
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
        _upstream.Post(new GemClose(entry.HostHandle) { Context = entry.HostContext });
        if (_cache.Left(entry.HostContext)) _upstream.Post(new CloseContext { Context = entry.HostContext });
    }
}
