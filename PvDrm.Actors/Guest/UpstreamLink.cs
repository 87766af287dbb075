using Akka.Actor;
using PvDrm.Client;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The proxy's one connection to the host, on the requester core every client shares
/// (<see cref="ClientLink"/>: HELLO, request ids, the pending table). Requests from every
/// application are numbered there (request-id multiplexing); each reply goes back to the actor
/// that forwarded it, with the continuation it gave (<see cref="ProxyProtocol.UpstreamReply"/>).
/// Requests are always sent with a reply requested, so the proxy can keep its translation tables
/// exact; an application's NO_REPLY is honoured on the application side. Requests in flight are
/// held within a window no larger than the host's per-guest limit and shared fairly among
/// applications (<see cref="UpstreamQueues"/>), so an application whose requests all wait never
/// stalls the others.
/// </summary>
public sealed class UpstreamLink : ClientLink
{
    /// <summary>The context id of the redirect probe (<see cref="RedirectAsync"/>): the highest, which the proxy never hands an application context.</summary>
    private const uint ProbeContext = uint.MaxValue;
    private static readonly TimeSpan HostAnswers = TimeSpan.FromSeconds(30);

    private readonly object _lock = new();
    private readonly UpstreamQueues _queues;

    private UpstreamLink(Connection connection, UpstreamLimits limits) : base(connection, keepsReplyLessErrors: false)
    {
        _queues = new UpstreamQueues(limits);
    }

    /// <summary>Told <see cref="ProxyProtocol.UpstreamLost"/> when the host goes away, and the host's RECLAIM events.</summary>
    public IActorRef? LossListener { get; set; }

    protected override void OnEvent(ReplyFrame frame)
    {
        if (frame.Header.Op == Op.Reclaim) LossListener?.Tell(new CacheActor.Reclaim(frame.Read<Replies.Reclaim>().Bytes));
    }

    /// <summary>
    /// Connects to the host and says HELLO as <paramref name="settings"/>' name. In a pool of
    /// hosts whose node answers that this guest's device is on another node, connects there
    /// instead (at most <see cref="ClientLink.DefaultMaxRedirects"/> hops, as <c>DrmClient</c>): the proxy's requests then go one hop.
    /// </summary>
    public static async Task<UpstreamLink> ConnectAsync(ProxySettings settings, CancellationToken cancellationToken = default)
    {
        string host = settings.Host;
        for (int hops = 0; ; hops++)
        {
            UpstreamLink link;
            try
            {
                link = await ConnectOnceAsync(host, settings, cancellationToken);
            }
            catch (Exception e) when (hops > 0 && e is ErrnoException or System.Net.Sockets.SocketException)
            {
                throw new RedirectUnreachableException(e is ErrnoException x ? x.Errno : Errno.ECONNREFUSED,
                    $"{settings.Host} sends guest {settings.Name} to {host}, which cannot be reached: {e.Message}");
            }
            string? next;
            try
            {
                next = await link.RedirectAsync(hops, cancellationToken);
            }
            catch
            {
                link.Close("redirect probe failed");
                throw;
            }
            if (next == null) return link;
            link.Close($"redirected to {next}");
            host = next;
        }
    }

    /// <summary>
    /// Opens and closes a context at once: an EREMOTE answer names the node whose device this guest
    /// has, which the link follows by <see cref="ClientLink.RedirectTarget"/>'s rule (ELOOP past the limit).
    /// </summary>
    private async Task<string?> RedirectAsync(int hops, CancellationToken cancellationToken)
    {
        var reply = await AskAsync(new Requests.OpenContext(0) { Context = ProbeContext }).WaitAsync(HostAnswers, cancellationToken);
        if (reply.Status == 0) Send(new Requests.CloseContext { Context = ProbeContext }, waiter: null);
        return RedirectTarget(Op.OpenContext, reply, hops, DefaultMaxRedirects);
    }

    private static async Task<UpstreamLink> ConnectOnceAsync(string host, ProxySettings settings, CancellationToken cancellationToken)
    {
        // Over a Unix socket, frames move into a ring when the host takes one (pvdrm.guest.ring); the
        // reader polls as long as the proxy's I/O loop does (io-poll).
        var connection = RingOffer.Wrap(Endpoints.Connect(host, settings.Connection), settings.Ring.Enabled, settings.Ring.Shape, settings.IoPoll);
        var link = new UpstreamLink(connection, settings.Upstream);
        connection.Start(link);
        try
        {
            await link.SayHelloAsync(settings.Name, settings.Token, cancellationToken).WaitAsync(HostAnswers, cancellationToken);
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
    /// in the window (at once, or when its turn comes); its reply, or a refusal, is told to
    /// <paramref name="owner"/>, which runs <paramref name="then"/> with it.
    /// </summary>
    public void Forward(ulong app, Request hostRequest, IActorRef owner, Action<ReplyFrame> then)
    {
        if (hostRequest.Fd != null && !Connection.CanPassFds)
        {
            // Sending it would end the link for every application: refuse this request only.
            owner.Tell(new ProxyProtocol.UpstreamReply(Refused(hostRequest, Errno.EOPNOTSUPP,
                $"{OpTable.NameOf(hostRequest.Op)} passes a descriptor, which this proxy's {Connection.Transport} link to the host cannot carry; use GEM_READ/GEM_WRITE"), then));
            return;
        }
        Enter(app, new UpstreamItem(hostRequest, new Forwarded(this, app, hostRequest, owner, then)));
    }

    /// <summary>Sends without wanting an answer (cleanup on behalf of a departed application), after its earlier requests.</summary>
    public void Post(ulong app, Request hostRequest) => Enter(app, new UpstreamItem(hostRequest, null));

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
        item.Waiter!.Answer(Refused(item.Request, Errno.EAGAIN, refusal!));
    }

    /// <summary>Sends one request; called under the lock.</summary>
    private void Send(ulong app, UpstreamItem item)
    {
        if (Send(item.Request, item.Waiter) || item.Waiter == null) return;
        _queues.Answered(app);
        item.Waiter.OnLost(EndReason ?? "closed");
    }

    /// <summary>A reply came for <paramref name="app"/>: its slot goes to the next application in turn.</summary>
    private void Answered(ulong app)
    {
        lock (_lock)
        {
            _queues.Answered(app);
            foreach (var next in _queues.Next()) Send(next.App, next.Item);
        }
    }

    public void Close(string reason) => Connection.Close(reason);

    private static ReplyFrame Refused(Request request, int errno, string message) =>
        new(request.Header, -errno, Array.Empty<byte>(), message, null);

    protected override void OnEnded(string reason)
    {
        List<UpstreamItem> waiting;
        lock (_lock) waiting = _queues.Drain();
        foreach (var item in waiting) item.Waiter?.OnLost(reason);
        LossListener?.Tell(new ProxyProtocol.UpstreamLost(reason));
    }

    /// <summary>A forwarded request: its reply goes to <c>owner</c> with the continuation captured when it was forwarded.</summary>
    internal sealed class Forwarded(UpstreamLink link, ulong app, Request request, IActorRef owner, Action<ReplyFrame> then) : IAwaitsReply
    {
        public void OnReply(ReplyFrame reply)
        {
            link.Answered(app);
            Answer(reply);
        }

        public void OnLost(string reason) => Answer(Refused(request, Errno.ECONNRESET, $"connection to the host lost: {reason}"));

        public void Answer(ReplyFrame reply) => owner.Tell(new ProxyProtocol.UpstreamReply(reply, then));
    }
}
