using PvDrm.Actors.Guest;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Guest.Client;

/// <summary>
/// A guest's connection to a PvDrm host (or to a guest proxy, which speaks the same protocol).
/// Any number of requests may be in flight; replies complete them in whatever order they come.
/// Thread-safe. Open a <see cref="DrmContext"/> to allocate buffers and submit work.
/// </summary>
public sealed class DrmClient : ClientLink, IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, (TaskCompletionSource<ReplyFrame> Reply, Op Op)> _pending = new();
    private readonly Dictionary<uint, ReplyFrame> _deferredErrors = new();
    private uint _nextRequestId;
    private uint _nextContext;
    private DrmClientOptions _options = new();
    // Connections to the pool nodes this guest was redirected to, by address (CLUSTER.md).
    private readonly Dictionary<string, Task<DrmClient>> _redirects = new(StringComparer.Ordinal);

    private DrmClient(Connection connection, GemCacheOptions cache) : base(connection)
    {
        Cache = new GemPool<CachedGem>(cache);
    }

    /// <summary>Closed objects waiting for reuse (empty unless the cache is enabled).</summary>
    internal GemPool<CachedGem> Cache { get; }

    public GemCacheStats CacheStats => Cache.Stats();

    /// <summary>Connects to <paramref name="endpoint"/> (unix:PATH, tcp:HOST:PORT, vsock:CID:PORT) and says HELLO.</summary>
    public static async Task<DrmClient> ConnectAsync(string endpoint, DrmClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DrmClientOptions();
        var client = await ConnectAsync(Endpoints.Connect(endpoint, new ConnectionOptions { MaxFrame = options.MaxFrame }), options, cancellationToken);
        client.Endpoint = endpoint;
        return client;
    }

    /// <summary>The address this client connected to (null for a connection handed in).</summary>
    public string? Endpoint { get; private set; }

    /// <summary>Says HELLO over an established connection (a socketpair in tests, an accepted socket).</summary>
    public static async Task<DrmClient> ConnectAsync(Connection connection, DrmClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DrmClientOptions();
        if (options.ChunksInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), "ChunksInFlight must be at least 1");
        connection = RingOffer.Wrap(connection, options);
        var client = new DrmClient(connection, options.Cache) { ChunksInFlight = options.ChunksInFlight, _options = options };
        connection.Start(client);
        try
        {
            var reply = await client.SendAsync(new Hello(ProtocolLimits.Version, 0, (uint)connection.MaxFrame, options.Name, options.Token))
                .WaitAsync(cancellationToken);
            var hello = reply.Read<Replies.Hello>();
            client.Name = options.Name;
            client.SessionId = hello.SessionId;
            client.MaxFrame = (int)Math.Min(hello.MaxFrame, (uint)connection.MaxFrame);
            client.CanMap = connection.CanPassFds && (hello.Capabilities & ProtocolLimits.CapabilityMap) != 0;
            if (await RingOffer.AttachAsync(client, connection, hello.Capabilities) is int slot) client.MaxFrame = Math.Min(client.MaxFrame, slot);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public string Name { get; private set; } = "";

    public ulong SessionId { get; private set; }

    /// <summary>The negotiated frame limit; GEM reads and writes are chunked below it.</summary>
    public int MaxFrame { get; private set; }

    /// <summary>True when buffers can be mapped: descriptors travel all the way from the host (HELLO says so).</summary>
    public bool CanMap { get; private set; }

    public bool IsConnected => Connection.IsOpen && EndReason == null;

    /// <summary>True when requests and replies travel in a shared-memory ring (PROTOCOL.md), not only the socket.</summary>
    public bool OnRing => Connection is Native.Io.Ring.RingClientConnection { RingAttached: true };

    /// <summary>GEM_READ/GEM_WRITE chunks one call keeps in flight (<see cref="DrmClientOptions.ChunksInFlight"/>).</summary>
    internal int ChunksInFlight { get; private init; } = 8;

    /// <summary>Bytes of data one GEM_READ or GEM_WRITE may carry.</summary>
    internal int MaxChunk => Math.Max(4096, MaxFrame - FrameEncoder.ReplyPrefix - FrameEncoder.MaxMessageBytes - 64) & ~4095;

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
        if (RedirectIn(reply) is { } address) return await (await FollowAsync(address, reply.Message!, hops)).OpenContextAsync(hops + 1);
        ThrowIfFailed(Op.OpenContext, reply);
        return new DrmContext(this, id);
    }

    public async Task<Replies.Version> GetVersionAsync() => (await AskDeviceAsync(new GetVersion())).Read<Replies.Version>();

    public async Task<ulong> GetParamAsync(ulong param) => (await AskDeviceAsync(new GetParam(param))).Read<Replies.Value>().Data;

    public async Task<ulong> GetCapAsync(ulong cap) => (await AskDeviceAsync(new GetCap(cap))).Read<Replies.Value>().Data;

    /// <summary>A device query, asked of the node whose device it is when this one redirects.</summary>
    private async Task<ReplyFrame> AskDeviceAsync(Request request, int hops = 0)
    {
        var reply = await SendRawAsync(request);
        if (RedirectIn(reply) is { } address) return await (await FollowAsync(address, reply.Message!, hops)).AskDeviceAsync(request, hops + 1);
        ThrowIfFailed(request.Op, reply);
        return reply;
    }

    private static string? RedirectIn(ReplyFrame reply) => reply.Status == -Errno.EREMOTE ? Redirects.AddressIn(reply.Message) : null;

    private static void ThrowIfFailed(Op op, ReplyFrame reply)
    {
        if (reply.Status >= 0) return;
        reply.TakeFd()?.Dispose();
        throw new DrmException(op, reply.Status, reply.Message);
    }

    /// <summary>True for a connection made by following a redirect: losing it means losing the device its contexts were on.</summary>
    internal bool Redirected => _home != null;

    // For a connection made by following a redirect: the client the application holds.
    private DrmClient? _home;

    /// <summary>The connection to a node this client was redirected to (one per address, kept), with this client's name and token.</summary>
    private async Task<DrmClient> FollowAsync(string address, string why, int hops)
    {
        if (hops >= _options.MaxRedirects)
            throw new DrmException(Op.OpenContext, Errno.ELOOP, $"redirected {hops + 1} times, giving up ({why})");
        // Connections belong to the client the application holds; a redirect back to it (a node
        // that has not heard of a move yet) asks there again.
        if (_home != null) return await _home.FollowAsync(address, why, hops);
        if (address == Endpoint) return this;
        Task<DrmClient> connecting;
        lock (_lock)
        {
            if (!_redirects.TryGetValue(address, out connecting!) || connecting.IsFaulted || connecting is { IsCompletedSuccessfully: true, Result.IsConnected: false })
                _redirects[address] = connecting = ConnectRedirectedAsync(address);
        }
        try
        {
            return await connecting;
        }
        catch (Exception e) when (e is DrmException or ErrnoException)
        {
            throw new DrmException(Op.OpenContext, Errno.ECONNREFUSED, $"{why}; but {address} cannot be reached: {e.Message}");
        }
    }

    private async Task<DrmClient> ConnectRedirectedAsync(string address)
    {
        var options = _options;
        var connection = Endpoints.Connect(address, new ConnectionOptions { MaxFrame = options.MaxFrame });
        var client = await ConnectAsync(connection, options);
        client._home = this;
        client.Endpoint = address;
        return client;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its request id is assigned here) and completes with the
    /// reply; a failure status throws <see cref="DrmException"/>.
    /// </summary>
    public async Task<ReplyFrame> SendAsync(Request request)
    {
        var reply = await SendRawAsync(request);
        if (reply.Status < 0)
        {
            reply.TakeFd()?.Dispose();
            throw new DrmException(request.Op, reply.Status, reply.Message);
        }
        return reply;
    }

    /// <summary>Like <see cref="SendAsync"/> but returns failure replies instead of throwing.</summary>
    public Task<ReplyFrame> SendRawAsync(Request request)
    {
        var tcs = new TaskCompletionSource<ReplyFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        uint id;
        lock (_lock)
        {
            ThrowIfDeferredError(request);
            id = ++_nextRequestId;
            _pending[id] = (tcs, request.Op);
        }
        if (!Transmit(request, id, FrameFlags.None))
        {
            lock (_lock) _pending.Remove(id);
            tcs.TrySetException(new DrmException(request.Op, LostErrno, EndReason ?? "not connected"));
        }
        return tcs.Task;
    }

    /// <summary>
    /// Sends a request inside a context without waiting: the host answers only if it fails, and
    /// that failure is raised by the next request made on the same context.
    /// </summary>
    public void Post(Request request)
    {
        if (request.Context == 0) throw new ArgumentException("only requests inside a context can be reply-less", nameof(request));
        uint id;
        lock (_lock)
        {
            ThrowIfDeferredError(request);
            id = ++_nextRequestId;
        }
        if (!Transmit(request, id, FrameFlags.NoReply))
            throw new DrmException(request.Op, LostErrno, EndReason ?? "not connected");
    }

    private bool Transmit(Request request, uint id, FrameFlags flags)
    {
        int size = FrameEncoder.RequestSize(request);
        if (size > MaxFrame && MaxFrame > 0)
            throw new DrmException(request.Op, Errno.EMSGSIZE, $"request of {size} bytes exceeds the {MaxFrame}-byte frame limit");
        return Send(request, id, request.Flags | flags);
    }

    private void ThrowIfDeferredError(Request request)
    {
        if (request.Context == 0 || !_deferredErrors.Remove(request.Context, out var failed)) return;
        throw new DrmException(failed.Header.Op, failed.Status,
            $"(an earlier reply-less request {failed.Header.RequestId} on context {request.Context}) {failed.Message}");
    }

    private Task<int> _reclaiming = Task.FromResult(0);

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

    protected override void OnReply(ReplyFrame reply)
    {
        TaskCompletionSource<ReplyFrame>? tcs = null;
        lock (_lock)
        {
            if (_pending.Remove(reply.Header.RequestId, out var pending)) tcs = pending.Reply;
            else if (reply.Status < 0 && reply.Header.Context != 0) _deferredErrors.TryAdd(reply.Header.Context, reply);
        }
        if (tcs != null) tcs.TrySetResult(reply);
        else reply.TakeFd()?.Dispose();
    }

    protected override void OnEnded(string reason)
    {
        List<(TaskCompletionSource<ReplyFrame> Reply, Op Op)> pending;
        lock (_lock)
        {
            pending = _pending.Values.ToList();
            _pending.Clear();
        }
        foreach (var (tcs, op) in pending)
            tcs.TrySetException(new DrmException(op, LostErrno, Redirected
                ? $"the pool node serving this context went away ({reason}); its objects are gone: open a new context"
                : $"connection to the host lost: {reason}"));
    }

    // A redirected connection's loss is its device's loss, as far as its contexts can tell (a GPU reset).
    private int LostErrno => Redirected ? Errno.ENODEV : Errno.ECONNRESET;

    public async ValueTask DisposeAsync()
    {
        Connection.Close("client disposed");
        List<Task<DrmClient>> redirects;
        lock (_lock) redirects = _redirects.Values.ToList();
        foreach (var r in redirects.Where(r => r.IsCompletedSuccessfully)) await r.Result.DisposeAsync();
    }
}
