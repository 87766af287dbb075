using Akka.Actor;
using Akka.Event;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>
/// <c>/user/proxy/drm/file-&lt;n&gt;</c>: one DRM file a program opened through the preload shim,
/// the analog of a struct drm_file. It owns one <see cref="AppContext"/> (so handles, channels and
/// map offsets are translated and isolated exactly as for protocol applications, and the GEM cache
/// applies), answers the shim's calls one at a time in arrival order (the shim has no request
/// ids), and closes the context when the program closes its last descriptor of the file. The
/// host context opens on the first call that needs it, so files a program only holds (or
/// probes with VERSION and GET_CAP) cost the guest no host context.
/// </summary>
internal sealed class ShimFile : ReceiveActor
{
    private const int PauseAt = 16;

    private readonly Connection _connection;
    private readonly UpstreamLink _upstream;
    private readonly uint _hostContext;
    private readonly ulong _app;
    private readonly ProxyCache _cache;
    private readonly IActorRef _cacheActor;
    private readonly ShimCalls _calls;
    private readonly NameScope _names;
    private readonly GuestRegion? _region;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<ShimProtocol.Frame> _queue = new();
    private IActorRef _context = ActorRefs.Nobody;
    private Func<ShimProtocol.Answer, ShimReply?>? _pending;
    private bool _paused;
    private ContextState _contextState = ContextState.None;

    /// <summary>Where the file's host context stands: a file a program only holds or probes never leaves <see cref="ContextState.None"/>.</summary>
    private enum ContextState
    {
        /// <summary>Not asked for yet, or refused: the next call that needs it opens it.</summary>
        None,

        /// <summary>OPEN_CONTEXT is in flight; the call that needs it waits as <c>_pending</c>.</summary>
        Opening,

        /// <summary>Open until the file closes.</summary>
        Open,
    }

    public ShimFile(Connection connection, UpstreamLink upstream, uint hostContext, ulong app, ProxyCache cache, IActorRef cacheActor, ShimUnknownIoctls unknown, GuestNames names, GuestRegion? region)
    {
        // Names are scoped per program: its files may share by FLINK/OPEN, other programs may not.
        _names = new NameScope(names, connection.Peer is { } peer ? NameScope.ProgramOwner(peer.Pid) : app);
        _connection = connection;
        _upstream = upstream;
        _hostContext = hostContext;
        (_app, _cache, _cacheActor) = (app, cache, cacheActor);
        _region = region;
        _calls = new ShimCalls(unknown);

        Receive<ShimProtocol.Frame>(f =>
        {
            _queue.Enqueue(f);
            if (_queue.Count >= PauseAt && !_paused)
            {
                _paused = true;
                _connection.PauseReceiving(); // the shim waits for each answer, so only a misbehaving one gets here
            }
            Next();
        });
        Receive<ShimProtocol.Answer>(OnAnswer);
        Receive<ProxyProtocol.UpstreamReply>(u => u.Run());
        Receive<ShimProtocol.Closed>(c =>
        {
            _log.Debug("DRM file closed: {0}", c.Reason);
            Context.Stop(Self);
        });
        Receive<Terminated>(t =>
        {
            if (t.ActorRef.Equals(_context)) _connection.Close("its context ended");
        });
    }

    private void NewContext()
    {
        _context = Context.ActorOf(AppContext.Props(_upstream, ShimCalls.ContextId, _hostContext, _app, _cache, _cacheActor, _names, _region));
        Context.Watch(_context);
    }

    public static Props Props(Connection connection, UpstreamLink upstream, uint hostContext, ulong app, ProxyCache cache, IActorRef cacheActor, ShimUnknownIoctls unknown, GuestNames names, GuestRegion? region) =>
        Akka.Actor.Props.Create(() => new ShimFile(connection, upstream, hostContext, app, cache, cacheActor, unknown, names, region));

    protected override void PreStart()
    {
        _names.Names.Attach(_names.Owner);
        NewContext();
        // Learn the device's memory (no context needed) before the first call is served.
        Learn(DeviceParam.FbSize, v => _calls.VramSize = v, () => Learn(DeviceParam.AgpSize, v => _calls.GartSize = v, null));
        _connection.Start(new ShimFrameHandler(Self));
    }

    /// <summary>Asks the host for a device parameter; unknown ones stay 0.</summary>
    private ShimReply? Learn(ulong param, Action<ulong> set, Func<ShimReply?>? then)
    {
        Start(new GetParam(param), toHost: true, a =>
        {
            if (a.Status == 0) set(a.Read<Replies.Value>().Data);
            return then?.Invoke();
        });
        return null;
    }

    /// <summary>
    /// Opens the host context, then makes <paramref name="ask"/>. A refused open (the guest's
    /// contexts are all in use) fails this call with its errno; the next call tries again.
    /// </summary>
    private void OpenThen(Ask ask)
    {
        _contextState = ContextState.Opening;
        Start(new OpenContext(0), toHost: false, a =>
        {
            if (a.Status == 0)
            {
                _contextState = ContextState.Open;
                Start(ask.Request, ask.ToHost, b => ask.Then(b));
                return null;
            }
            _contextState = ContextState.None;
            Context.Unwatch(_context); // it stops itself after a refused open
            NewContext();
            return ShimReply.Fail(a.Status, $"{OpTable.NameOf(ask.Request.Op)}: the file's context could not open: {a.Message}");
        });
    }

    private void Start(Request request, bool toHost, Func<ShimProtocol.Answer, ShimReply?> then)
    {
        _pending = then;
        if (toHost)
        {
            // Device queries go to the host directly.
            _upstream.Forward(_app, request with { Context = 0 }, Self,
                reply => OnAnswer(new ShimProtocol.Answer(reply.Status, reply.Payload, reply.Message, reply.TakeFd())));
            return;
        }
        var appRequest = request with { Context = ShimCalls.ContextId };
        appRequest.ReplyTo = new ShimReplySink(Self);
        _context.Tell(appRequest);
    }

    private void OnAnswer(ShimProtocol.Answer a)
    {
        var then = _pending;
        _pending = null;
        if (then == null)
        {
            a.Fd?.Dispose(); // nothing asked for it
            return;
        }
        ShimReply? reply;
        try
        {
            reply = then(a);
        }
        catch (ErrnoException e)
        {
            a.Fd?.Dispose();
            reply = ShimReply.Fail(e.Errno, e.Message);
        }
        if (reply != null) Send(reply);
        Next();
    }

    /// <summary>Serves the next queued call, unless one is in flight or the file is still opening.</summary>
    private void Next()
    {
        while (_pending == null && _queue.TryDequeue(out var frame))
        {
            var request = ShimRequest.Parse(frame.Bytes, out string? error);
            if (request == null)
            {
                frame.Fd?.Dispose();
                _connection.Close($"malformed shim frame: {error}");
                return;
            }
            var step = _calls.Translate(request, frame.Fd);
            if (step is Answered answered) Send(answered.Reply);
            else if (step is Ask { ToHost: false } first && _contextState == ContextState.None) OpenThen(first);
            else if (step is Ask ask) Start(ask.Request, ask.ToHost, a => ask.Then(a));
        }
        if (_paused && _queue.Count < PauseAt / 2)
        {
            _paused = false;
            _connection.ResumeReceiving();
        }
    }

    private void Send(ShimReply reply)
    {
        _connection.Send(reply.Encode(), reply.Fd);
        reply.Fd?.Dispose();
    }

    protected override void PostStop()
    {
        _names.Names.Detach(_names.Owner);
        _connection.Close("DRM file closed");
        foreach (var frame in _queue) frame.Fd?.Dispose();
    }
}

/// <summary>Logs each ioctl number outside the boundary once per proxy, however many programs try it.</summary>
internal sealed class ShimUnknownIoctls(ILoggingAdapter log)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<uint, bool> _seen = new();

    public void Report(uint number)
    {
        if (_seen.TryAdd(number, true))
            log.Warning("a program called {0} on its DRM file: outside PvDrm's boundary, answered EINVAL (logged once)", Native.Drm.DrmIoctlNames.Of(number));
    }
}
