using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Client;

/// <summary>
/// A guest's connection to a PvDrm host (or to a guest proxy, which speaks the same protocol).
/// Any number of requests may be in flight; replies complete them in whatever order they come.
/// Thread-safe. Open a <see cref="DrmContext"/> to allocate buffers and submit work.
/// </summary>
/// <remarks>
/// Connect with <see cref="ConnectAsync(string, DrmClientOptions?, CancellationToken)"/> (an
/// endpoint string) or <see cref="ConnectAsync(Connection, DrmClientOptions?, CancellationToken)"/>
/// (any established <see cref="Connection"/>: the one seam through which a transport is handed in).
/// </remarks>
public sealed class DrmClient : ClientLink, IAsyncDisposable
{
    private readonly DrmClientOptions _options;
    private readonly RedirectedClients _redirects;
    private uint _nextContext;
    private Task<int> _reclaiming = Task.FromResult(0);

    private DrmClient(Connection connection, DrmClientOptions options, DrmClient? home) : base(connection, keepsReplyLessErrors: true)
    {
        _options = options;
        Cache = new GemPool<CachedGem>(options.Cache);
        _redirects = new RedirectedClients(this, home);
    }

    /// <summary>Closed objects waiting for reuse (empty unless the cache is enabled).</summary>
    internal GemPool<CachedGem> Cache { get; }

    /// <summary>What the client-side GEM cache (<see cref="DrmClientOptions.Cache"/>) has done so far.</summary>
    public GemCacheStats CacheStats => Cache.Stats();

    /// <summary>Connects to <paramref name="endpoint"/> (unix:PATH, tcp:HOST:PORT, vsock:CID:PORT) and says HELLO.</summary>
    public static async Task<DrmClient> ConnectAsync(string endpoint, DrmClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DrmClientOptions();
        var client = await ConnectAsync(Endpoints.Connect(endpoint, new ConnectionOptions { MaxFrame = options.MaxFrame }), options, cancellationToken);
        client.Endpoint = endpoint;
        return client;
    }

    /// <summary>Says HELLO over an established connection (a socketpair in tests, an accepted socket).</summary>
    public static Task<DrmClient> ConnectAsync(Connection connection, DrmClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(connection, options ?? new DrmClientOptions(), home: null, cancellationToken);

    /// <summary>Says HELLO; <paramref name="home"/> is the client the application holds when this one follows a redirect.</summary>
    internal static async Task<DrmClient> ConnectAsync(Connection connection, DrmClientOptions options, DrmClient? home, CancellationToken cancellationToken)
    {
        if (options.ChunksInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), "ChunksInFlight must be at least 1");
        connection = RingOffer.Wrap(connection, options.Ring, options.RingShape, options.RingPoll);
        var client = new DrmClient(connection, options, home);
        connection.Start(client);
        try
        {
            await client.SayHelloAsync(options.Name, options.Token, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The address this client connected to (null for a connection handed in).</summary>
    public string? Endpoint { get; internal set; }

    /// <summary>The name this client presented in HELLO.</summary>
    public string Name => _options.Name;

    /// <summary>True until the connection or the session ends.</summary>
    public bool IsConnected => Connection.IsOpen && EndReason == null;

    /// <summary>GEM_READ/GEM_WRITE chunks one call keeps in flight (<see cref="DrmClientOptions.ChunksInFlight"/>).</summary>
    internal int ChunksInFlight => _options.ChunksInFlight;

    /// <summary>Bytes of data one GEM_READ or GEM_WRITE may carry.</summary>
    public int MaxChunk => Math.Max(4096, MaxFrame - FrameEncoder.ReplyPrefix - FrameEncoder.MaxMessageBytes - 64) & ~4095;

    /// <summary>The options this client was connected with (a redirect connects with the same).</summary>
    internal DrmClientOptions Options => _options;

    /// <summary>True for a connection made by following a redirect: losing it means losing the device its contexts were on.</summary>
    internal bool Redirected => _redirects.IsFollowed;

    /// <summary>
    /// A new context. In a pool of hosts, the node this client reached may answer that the guest's
    /// device is on another node (EREMOTE); the context then opens there, over a connection of its
    /// own, after at most <see cref="DrmClientOptions.MaxRedirects"/> hops.
    /// </summary>
    public Task<DrmContext> OpenContextAsync() => OpenContextAsync(hops: 0);

    private async Task<DrmContext> OpenContextAsync(int hops)
    {
        uint id = Interlocked.Increment(ref _nextContext);
        var reply = await SendRawAsync(new OpenContext(0) { Context = id });
        if (RedirectTarget(Op.OpenContext, reply, hops, _options.MaxRedirects) is { } address)
            return await (await _redirects.FollowAsync(address, reply.Message!)).OpenContextAsync(hops + 1);
        ThrowIfFailed(Op.OpenContext, reply);
        return new DrmContext(this, id);
    }

    /// <summary>The device's DRM version (GET_VERSION).</summary>
    public async Task<Replies.Version> GetVersionAsync() => (await AskDeviceAsync(new GetVersion())).Read<Replies.Version>();

    /// <summary>A device parameter (GET_PARAM).</summary>
    public async Task<ulong> GetParamAsync(ulong param) => (await AskDeviceAsync(new GetParam(param))).Read<Replies.Value>().Data;

    /// <summary>A DRM capability (GET_CAP).</summary>
    public async Task<ulong> GetCapAsync(ulong cap) => (await AskDeviceAsync(new GetCap(cap))).Read<Replies.Value>().Data;

    /// <summary>A device query, asked of the node whose device it is when this one redirects.</summary>
    private async Task<ReplyFrame> AskDeviceAsync(Request request, int hops = 0)
    {
        var reply = await SendRawAsync(request);
        if (RedirectTarget(request.Op, reply, hops, _options.MaxRedirects) is { } address)
            return await (await _redirects.FollowAsync(address, reply.Message!)).AskDeviceAsync(request, hops + 1);
        ThrowIfFailed(request.Op, reply);
        return reply;
    }

    private static void ThrowIfFailed(Op op, ReplyFrame reply)
    {
        if (reply.Status >= 0) return;
        reply.TakeFd()?.Dispose();
        throw new DrmException(op, reply.Status, reply.Message);
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its request id is assigned here) and completes with the
    /// reply; a failure status throws <see cref="DrmException"/>.
    /// </summary>
    public async Task<ReplyFrame> SendAsync(Request request)
    {
        var reply = await SendRawAsync(request);
        ThrowIfFailed(request.Op, reply);
        return reply;
    }

    /// <summary>Like <see cref="SendAsync"/> but returns failure replies instead of throwing.</summary>
    public Task<ReplyFrame> SendRawAsync(Request request)
    {
        ThrowIfTooLarge(request);
        ThrowIfReplyLessError(request);
        return AskAsync(request);
    }

    /// <summary>
    /// Sends a request inside a context without waiting: the host answers only if it fails, and
    /// that failure is raised by the next request made on the same context.
    /// </summary>
    public void Post(Request request)
    {
        if (request.Context == 0) throw new ArgumentException("only requests inside a context can be reply-less", nameof(request));
        ThrowIfTooLarge(request);
        ThrowIfReplyLessError(request);
        if (!Send(request, waiter: null)) throw Lost(request.Op, EndReason ?? "not connected");
    }

    /// <summary>Sends a <see cref="DrmBatch"/>'s requests in one write (one doorbell on the ring); false when the connection is closed.</summary>
    internal bool SendBatch(IReadOnlyList<(Request Request, IAwaitsReply? Waiter)> batch) => SendAll(batch);

    /// <summary>The exception for <paramref name="op"/> when the connection is gone (<see cref="Lost"/>).</summary>
    internal Exception LostFor(Op op, string? reason = null) => Lost(op, reason ?? EndReason ?? "not connected");

    internal void ThrowIfTooLarge(Request request)
    {
        int size = FrameEncoder.RequestSize(request);
        if (size > MaxFrame && MaxFrame > 0)
            throw new DrmException(request.Op, Errno.EMSGSIZE, $"request of {size} bytes exceeds the {MaxFrame}-byte frame limit");
    }

    private void ThrowIfReplyLessError(Request request) => ThrowIfReplyLessError(request.Context);

    /// <summary>Raises the kept failure of an earlier reply-less request on <paramref name="context"/>, if any.</summary>
    internal void ThrowIfReplyLessError(uint context)
    {
        if (TakeReplyLessError(context) is not { } failed) return;
        throw new DrmException(failed.Header.Op, failed.Status,
            $"(an earlier reply-less request {failed.Header.RequestId} on context {context}) {failed.Message}");
    }

    /// <summary>Redirected past <see cref="DrmClientOptions.MaxRedirects"/>: a <see cref="DrmException"/> with ELOOP.</summary>
    protected override Exception TooManyRedirects(Op op, string message) => new DrmException(op, Errno.ELOOP, message);

    /// <summary>HELLO refused: a <see cref="DrmException"/>.</summary>
    protected override Exception Refused(Op op, ReplyFrame reply) => new DrmException(op, reply.Status, reply.Message);

    /// <summary>The connection ended under a request: ECONNRESET, or ENODEV for a redirected connection (its device is gone, as far as its contexts can tell).</summary>
    protected override Exception Lost(Op op, string reason) => Redirected
        ? new DrmException(op, Errno.ENODEV, $"the pool node serving this context went away ({reason}); its objects are gone: open a new context")
        : new DrmException(op, Errno.ECONNRESET, $"connection to the host lost: {reason}");

    /// <summary>The host is at this guest's memory limit and asks for cached buffers back.</summary>
    protected override void OnEvent(ReplyFrame frame)
    {
        if (frame.Header.Op == Op.Reclaim && Cache.Enabled)
            _reclaiming = FreeAsync(Cache.Drain(frame.Read<Replies.Reclaim>().Bytes));
    }

    /// <summary>Empties the cache on the host, after any reclaim in flight; returns how many objects that freed.</summary>
    internal async Task<int> GiveBackCacheAsync() => await _reclaiming + await FreeAsync(Cache.Drain());

    /// <summary>Frees cached objects on the host (evicted or reclaimed); returns how many.</summary>
    internal async Task<int> FreeAsync(List<CachedGem> objects)
    {
        var closes = new List<Task>();
        foreach (var gem in objects)
        {
            gem.Mapping?.Unmap();
            if (IsConnected) closes.Add(gem.Context.Send(new GemClose(gem.Handle)));
        }
        try
        {
            await Task.WhenAll(closes);
        }
        catch (DrmException)
        {
            // The context closed meanwhile: the host freed them with it.
        }
        return objects.Count;
    }

    /// <summary>Follows a redirect from one of the connections this client opened for redirects.</summary>
    internal Task<DrmClient> Follow(string address, string why) => _redirects.FollowAsync(address, why);

    /// <summary>Closes the connection and every connection redirects opened.</summary>
    public async ValueTask DisposeAsync()
    {
        Connection.Close("client disposed");
        await _redirects.DisposeAsync();
    }
}
