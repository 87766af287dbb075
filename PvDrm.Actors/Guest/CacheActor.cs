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

        // A closed object enters the pool only once its GPU work has finished (a delayed COPY out
        // of it must not see the next application's data) and it has its name (so no application
        // can import the name in between).
        Receive<Settle>(p => _upstream.Forward(p.Entry.App,
            new CpuPrep(p.Entry.HostHandle, CpuPrepFlags.Write, 0) { Context = p.Entry.HostContext }, Self, new Ticket(p.Entry, p.Shape)));
        Receive<Evicted>(e => Free(e.Entries));
        Receive<Reclaim>(r => Free(_cache.Pool.Drain(r.Bytes)));
        Receive<ProxyProtocol.UpstreamReply>(OnReply);
    }

    public static Props Props(ProxyCache cache, UpstreamLink upstream) => Akka.Actor.Props.Create(() => new CacheActor(cache, upstream));

    /// <summary>An application closed an object into the cache: pool it once its work is done and it has a name.</summary>
    public sealed record Settle(ProxyCached Entry, GemShape Shape);

    public sealed record Evicted(List<ProxyCached> Entries);

    public sealed record Reclaim(ulong Bytes);

    /// <summary>
    /// Marks a request sent on the cache's behalf; its reply comes back here with it. A context that
    /// takes an object from another sends the GEM_IMPORT itself (so it is ordered before that
    /// application's next requests) with a ticket, and this actor closes the old handle once it succeeded.
    /// </summary>
    internal sealed record Ticket(ProxyCached Entry, GemShape Shape = default) : Request
    {
        public override Op Op => Op.GemExport;
        public override int BodySize => 0;
        public override void WriteBody(ref WireWriter writer) { }
    }

    private void OnReply(ProxyProtocol.UpstreamReply u)
    {
        u.Reply.TakeFd()?.Dispose();
        var ticket = (Ticket)u.AppRequest;
        var entry = ticket.Entry;
        switch (u.Reply.Header.Op)
        {
            case Op.CpuPrep when u.Reply.Status == 0 && entry.Name == 0 && _cache.MovesByName:
                _upstream.Forward(entry.App, new GemExport(entry.HostHandle) { Context = entry.HostContext }, Self, ticket);
                break;
            case Op.CpuPrep when u.Reply.Status == 0:
                Pool(ticket);
                break;
            case Op.GemExport when u.Reply.Status == 0:
                uint name = u.Reply.Read<Replies.Name>().Number;
                _cache.NameForMoves(name);
                entry.Name = name;
                Pool(ticket);
                break;
            case Op.GemImport when u.Reply.Status == 0:
                // The object has its new handle: now the old one may go.
                Close(entry);
                break;
            default:
                _log.Warning("GEM cache: {Op} for host object {Handle} in context {Context} failed: {Reason}",
                    OpTable.NameOf(u.Reply.Header.Op), entry.HostHandle, entry.HostContext, u.Reply.Message);
                if (u.Reply.Header.Op != Op.GemImport) _cache.Pool.CountSettling(-1); // never pooled
                Close(entry);
                break;
        }
    }

    /// <summary>A settled object enters the pool, unless only its departed context could have taken it.</summary>
    private void Pool(Ticket ticket)
    {
        _cache.Pool.CountSettling(-1);
        if (ticket.Entry.Mapped && _cache.IsRetired(ticket.Entry.HostContext))
        {
            Free([ticket.Entry]);
            return;
        }
        Free(_cache.Pool.Add(ticket.Shape, ticket.Entry));
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
