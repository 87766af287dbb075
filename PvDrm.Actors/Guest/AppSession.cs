using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// <c>/user/proxy/app-&lt;n&gt;</c>: one application connected to the proxy. Opens an
/// <see cref="AppContext"/> per context the application opens, passes device queries to the
/// host, and routes everything else by context. When the application goes, its contexts close
/// on the host.
/// </summary>
internal sealed class AppSession : ReceiveActor
{
    private readonly AppLink _link;
    private readonly UpstreamLink _upstream;
    private readonly ContextIds _contextIds;
    private readonly ulong _app;
    private readonly ProxyCache _cache;
    private readonly IActorRef _cacheActor;
    private readonly GuestNames _names;
    private readonly GuestRegion? _region;
    private readonly Dictionary<uint, IActorRef> _contexts = new();

    public AppSession(AppLink link, UpstreamLink upstream, ContextIds contextIds, ulong app, ProxyCache cache, IActorRef cacheActor, GuestNames names, GuestRegion? region)
    {
        _names = names;
        _region = region;
        names.Attach(app);
        _link = link;
        _upstream = upstream;
        _contextIds = contextIds;
        (_app, _cache, _cacheActor) = (app, cache, cacheActor);

        Receive<OpenContext>(Open);
        Receive<CloseContext>(r =>
        {
            if (_contexts.Remove(r.Context, out var context)) context.Tell(r);
            else r.Fail(Errno.ENOENT, $"CLOSE_CONTEXT: context {r.Context} is not open");
        });
        Receive<GetVersion>(AskDevice);
        Receive<GetParam>(AskDevice);
        Receive<GetCap>(AskDevice);
        Receive<Request>(r =>
        {
            if (_contexts.TryGetValue(r.Context, out var context)) context.Tell(r);
            else r.Fail(Errno.ENOENT, $"{OpTable.NameOf(r.Op)}: context {r.Context} is not open");
        });
        Receive<ProxyProtocol.UpstreamReply>(u => u.Run());
        Receive<ProxyProtocol.AppClosed>(_ => Context.Stop(Self));
        Receive<Terminated>(t =>
        {
            foreach (var (id, actor) in _contexts)
                if (actor.Equals(t.ActorRef))
                {
                    _contexts.Remove(id);
                    break;
                }
        });
    }

    public static Props Props(AppLink link, UpstreamLink upstream, ContextIds contextIds, ulong app, ProxyCache cache, IActorRef cacheActor, GuestNames names, GuestRegion? region) =>
        Akka.Actor.Props.Create(() => new AppSession(link, upstream, contextIds, app, cache, cacheActor, names, region));

    /// <summary>A device query goes to the host as it is; its answer to the application.</summary>
    private void AskDevice(Request r) => _upstream.Forward(_app, r with { Context = 0 }, Self, reply => r.Relay(reply));

    private void Open(OpenContext r)
    {
        if (_contexts.ContainsKey(r.Context))
        {
            r.Fail(Errno.EEXIST, $"OPEN_CONTEXT: context {r.Context} is already open");
            return;
        }
        if (_contexts.Count >= _contextIds.PerApplication)
        {
            r.Fail(Errno.EMFILE, $"OPEN_CONTEXT: this application already has {_contexts.Count} contexts open; pvdrm.guest.contexts-per-application = {_contextIds.PerApplication}");
            return;
        }
        var context = Context.ActorOf(AppContext.Props(_upstream, r.Context, _contextIds.Next(), _app, _cache, _cacheActor, new NameScope(_names, _app), _region), ActorNames.Unique(Context, $"ctx-{r.Context}"));
        Context.Watch(context);
        _contexts[r.Context] = context;
        context.Tell(r);
    }

    protected override void PostStop()
    {
        _names.Detach(_app);
        _link.Connection.Close("application session ended");
    }
}
