using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The proxy's one connection to the host. Requests from every application are numbered here
/// (request-id multiplexing) and each reply goes back to the actor that forwarded it. Requests
/// are always sent with a reply requested, so the proxy can keep its translation tables exact;
/// an application's NO_REPLY is honoured on the application side. Requests in flight are held
/// within a window no larger than the host's per-guest limit and shared fairly among
/// applications (<see cref="UpstreamQueues"/>), so an application whose requests all wait never
/// stalls the others.
/// </summary>
public sealed class UpstreamLink : ClientLink
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, (IActorRef Owner, Request AppRequest, ulong App)> _pending = new();
    private readonly UpstreamQueues _queues;
    private readonly TaskCompletionSource<Replies.Hello> _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<ReplyFrame> _probe = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _nextId = ProbeRequest; // 1 is HELLO's, 2 the pool probe's

    private const uint ProbeRequest = 2;
    private const uint ProbeContext = uint.MaxValue;
    private const int MaxRedirects = 3;

    private UpstreamLink(Connection connection, UpstreamLimits limits) : base(connection)
    {
        _queues = new UpstreamQueues(limits);
    }


    /// <summary>Negotiated with the host in HELLO.</summary>
    public int MaxFrame { get; private set; }

    /// <summary>The host hands out buffer descriptors on this link (a Unix host link that said so in HELLO).</summary>
    public bool CanMap { get; private set; }

    /// <summary>Told <see cref="ProxyProtocol.UpstreamLost"/> when the host goes away, and the host's RECLAIM events.</summary>
    public IActorRef? LossListener { get; set; }

    protected override void OnEvent(ReplyFrame frame)
    {
        if (frame.Header.Op == Op.Reclaim) LossListener?.Tell(new CacheActor.Reclaim(frame.Read<Replies.Reclaim>().Bytes));
    }

    /// <summary>
    /// Connects to the host and says HELLO as <paramref name="settings"/>' name. In a pool of
    /// hosts whose node answers that this guest's device is on another node, connects there
    /// instead (at most <see cref="MaxRedirects"/> hops): the proxy's requests then go one hop.
    /// </summary>
    public static async Task<UpstreamLink> ConnectAsync(ProxySettings settings, CancellationToken cancellationToken = default)
    {
        string host = settings.Host;
        for (int hops = 0; ; hops++)
        {
            var link = await ConnectOnceAsync(host, settings, cancellationToken);
            if (await link.RedirectAsync(cancellationToken) is not { } next) return link;
            link.Close($"redirected to {next}");
            if (hops == MaxRedirects)
                throw new ErrnoException(Errno.ELOOP, $"redirected {hops + 1} times, last from {host} to {next}: giving up");
            host = next;
        }
    }

    /// <summary>Opens and closes a context at once: an EREMOTE answer names the node whose device this guest has.</summary>
    private async Task<string?> RedirectAsync(CancellationToken cancellationToken)
    {
        if (!Send(new Requests.OpenContext(0) { Context = ProbeContext }, ProbeRequest, FrameFlags.None)) return null;
        var reply = await _probe.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        if (reply.Status == 0) Post(0, new Requests.CloseContext { Context = ProbeContext });
        return reply.Status == -Errno.EREMOTE ? Redirects.AddressIn(reply.Message) : null;
    }

    private static async Task<UpstreamLink> ConnectOnceAsync(string host, ProxySettings settings, CancellationToken cancellationToken)
    {
        var connection = Endpoints.Connect(host, new ConnectionOptions());
        var link = new UpstreamLink(connection, settings.Upstream);
        connection.Start(link);
        var hello = new Requests.Hello(ProtocolLimits.Version, 0, (uint)connection.MaxFrame, settings.Name, settings.Token);
        if (!link.Send(hello, 1, FrameFlags.None)) throw new ErrnoException(Errno.ECONNRESET, $"host at {host} closed the connection");
        try
        {
            var reply = await link._hello.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            link.MaxFrame = (int)Math.Min(reply.MaxFrame, (uint)connection.MaxFrame);
            link.CanMap = connection.CanPassFds && (reply.Capabilities & ProtocolLimits.CapabilityMap) != 0;
            return link;
        }
        catch
        {
            connection.Close("HELLO failed");
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="hostRequest"/> of application <paramref name="app"/> when it has a slot
    /// in the window (at once, or when its turn comes); its reply is told to <paramref name="owner"/>
    /// with <paramref name="appRequest"/>.
    /// </summary>
    public void Forward(ulong app, Request hostRequest, IActorRef owner, Request appRequest)
    {
        if (hostRequest.Fd != null && !Connection.CanPassFds)
        {
            // Sending it would end the link for every application: refuse this request only.
            owner.Tell(new ProxyProtocol.UpstreamReply(appRequest, Refused(hostRequest, Errno.EOPNOTSUPP,
                $"{OpTable.NameOf(hostRequest.Op)} passes a descriptor, which this proxy's {Connection.Transport} link to the host cannot carry; use GEM_READ/GEM_WRITE")));
            return;
        }
        Enter(app, new UpstreamItem(hostRequest, owner, appRequest));
    }

    /// <summary>Sends without wanting an answer (cleanup on behalf of a departed application), after its earlier requests.</summary>
    public void Post(ulong app, Request hostRequest) => Enter(app, new UpstreamItem(hostRequest, null, null));

    private void Enter(ulong app, UpstreamItem item)
    {
        string? refusal;
        lock (_lock)
        {
            // Sent under the lock, so an application's requests leave in the order they came.
            switch (_queues.Enter(app, item, out refusal))
            {
                case true:
                    Send(app, item);
                    return;
                case false:
                    return;
            }
        }
        // The host never saw it; a real driver client (libdrm's drmIoctl) retries EAGAIN.
        item.Owner!.Tell(new ProxyProtocol.UpstreamReply(item.AppRequest!, Refused(item.Request, Errno.EAGAIN, refusal!)));
    }

    /// <summary>Sends one request; called under the lock.</summary>
    private void Send(ulong app, UpstreamItem item)
    {
        uint id = ++_nextId;
        if (id <= ProbeRequest) id = _nextId = ProbeRequest + 1; // HELLO's and the probe's
        if (item.Owner == null)
        {
            Send(item.Request, id, FrameFlags.NoReply);
            return;
        }
        _pending[id] = (item.Owner, item.AppRequest!, app);
        if (Send(item.Request, id, FrameFlags.None)) return;
        _pending.Remove(id);
        _queues.Answered(app);
        item.Owner.Tell(new ProxyProtocol.UpstreamReply(item.AppRequest!, Lost(item.Request)));
    }

    public void Close(string reason) => Connection.Close(reason);

    private ReplyFrame Lost(Request request) => Refused(request, Errno.ECONNRESET, $"connection to the host lost: {EndReason ?? "closed"}");

    private static ReplyFrame Refused(Request request, int errno, string message) =>
        new(request.Header, -errno, Array.Empty<byte>(), message, null);

    protected override void OnReply(ReplyFrame reply)
    {
        if (reply.Header.Op == Op.Hello && reply.Header.RequestId == 1 && !_hello.Task.IsCompleted)
        {
            if (reply.Status == 0) _hello.TrySetResult(reply.Read<Replies.Hello>());
            else _hello.TrySetException(new ErrnoException(reply.Status, $"host refused HELLO: {reply.Message}"));
            return;
        }
        if (reply.Header.Op == Op.OpenContext && reply.Header.RequestId == ProbeRequest && !_probe.Task.IsCompleted)
        {
            _probe.TrySetResult(reply);
            return;
        }
        (IActorRef Owner, Request AppRequest, ulong App) pending;
        lock (_lock)
        {
            if (!_pending.Remove(reply.Header.RequestId, out pending))
            {
                reply.TakeFd()?.Dispose();
                return;
            }
            // Its slot goes to the next application in turn.
            _queues.Answered(pending.App);
            foreach (var next in _queues.Next()) Send(next.App, next.Item);
        }
        pending.Owner.Tell(new ProxyProtocol.UpstreamReply(pending.AppRequest, reply));
    }

    protected override void OnEnded(string reason)
    {
        _hello.TrySetException(new ErrnoException(Errno.ECONNRESET, $"host closed the connection: {reason}"));
        _probe.TrySetException(new ErrnoException(Errno.ECONNRESET, $"host closed the connection: {reason}"));
        List<(IActorRef Owner, Request AppRequest)> pending;
        lock (_lock)
        {
            pending = _pending.Values.Select(p => (p.Owner, p.AppRequest)).ToList();
            _pending.Clear();
            foreach (var item in _queues.Drain())
                if (item.Owner != null) pending.Add((item.Owner, item.AppRequest!));
        }
        foreach (var (owner, request) in pending) owner.Tell(new ProxyProtocol.UpstreamReply(request, Lost(request)));
        LossListener?.Tell(new ProxyProtocol.UpstreamLost(reason));
    }
}
