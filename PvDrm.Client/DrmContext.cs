using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Gpu;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Client;

/// <summary>
/// One DRM file on the host. Handles and channel ids are chosen here, so allocations can be
/// pipelined without waiting for the host. Fence numbers are the context's PUSHBUF count.
/// </summary>
public sealed class DrmContext : IAsyncDisposable
{
    private uint _nextHandle;
    private uint _nextChannel;
    private long _submitted;
    private int _closed;

    internal DrmContext(DrmClient client, uint id)
    {
        Client = client;
        Id = id;
    }

    /// <summary>The connection this context was opened on.</summary>
    public DrmClient Client { get; }

    /// <summary>The context id this client chose (the host's id when connected directly).</summary>
    public uint Id { get; }

    /// <summary>The fence number the next PUSHBUF on this context will get.</summary>
    public ulong NextFence => (ulong)Interlocked.Read(ref _submitted) + 1;

    /// <summary>
    /// A new zeroed buffer, or with the cache on, the best-fitting object this context closed
    /// earlier (with its mapping), without asking the host. A cached object keeps what this
    /// application last wrote in it: the cache never hands one application another's buffer.
    /// </summary>
    public async Task<GemObject> GemNewAsync(ulong size, GemDomain domain = GemDomain.Vram | GemDomain.Mappable, uint flags = 0)
    {
        var cache = Client.Cache;
        if (cache.Enabled && size > 0 && cache.TryTake(new GemShape((size + 4095) & ~4095UL, domain, flags), c => c.Context == this, out var shape, out var hit))
        {
            cache.CountSaved(1);
            return new GemObject(this, hit.Handle, shape.Size, domain, flags, hit.Mapping);
        }
        try
        {
            return await NewAsync(size, domain, flags);
        }
        catch (DrmException e) when (e.Errno == Errno.ENOSPC && cache.Enabled)
        {
            // At the guest's memory limit: give the cached buffers back (the host's RECLAIM may
            // already be doing it) and try once more if that freed anything.
            if (await Client.GiveBackCacheAsync() == 0) throw;
            return await NewAsync(size, domain, flags);
        }
    }

    /// <summary>
    /// A batch of requests in this context, sent together by <see cref="DrmBatch.FlushAsync"/>
    /// in one write (on the shared-memory ring, one doorbell for all of them).
    /// </summary>
    public DrmBatch Batch() => new(this);

    /// <summary>The next GEM handle of this context (guest-assigned, so requests naming it can be pipelined).</summary>
    internal uint NextHandle() => Interlocked.Increment(ref _nextHandle);

    /// <summary>A PUSHBUF is on its way: the fence numbers count them, answered or not.</summary>
    internal void CountSubmission() => Interlocked.Increment(ref _submitted);

    private async Task<GemObject> NewAsync(ulong size, GemDomain domain, uint flags)
    {
        uint handle = NextHandle();
        return Opened(await Send(new GemNew(handle, domain, size, flags)), flags);
    }

    internal async Task CloseAsync(GemObject gem)
    {
        var cache = Client.Cache;
        if (cache.Enabled && !gem.Shared && Volatile.Read(ref _closed) == 0)
        {
            var evicted = cache.Add(new GemShape(gem.Size, gem.Domain, gem.Flags), new CachedGem(this, gem.Handle, gem.Mapping));
            cache.CountSaved(1);
            await Client.FreeAsync(evicted);
            return;
        }
        gem.Unmap();
        await Send(new GemClose(gem.Handle));
    }

    /// <summary>Opens the object with global name <paramref name="name"/> (from <see cref="GemObject.ExportAsync"/>) in this context.</summary>
    public async Task<GemObject> ImportAsync(uint name) =>
        Shared(Opened(await Send(new GemImport(name, Interlocked.Increment(ref _nextHandle))), 0));

    /// <summary>
    /// Opens the buffer behind <paramref name="fd"/> (from <see cref="GemObject.PrimeExportAsync"/>
    /// of another application, or a memfd made with MFD_ALLOW_SEALING) in this context. The caller
    /// keeps <paramref name="fd"/>.
    /// </summary>
    public async Task<GemObject> PrimeImportAsync(Native.Interop.FileDescriptor fd) =>
        Shared(Opened(await Send(new PrimeImport(Interlocked.Increment(ref _nextHandle)) { Fd = fd }), 0));

    private GemObject Opened(ReplyFrame reply, uint flags)
    {
        var info = reply.Read<Replies.GemInfo>();
        return new GemObject(this, info.Handle, info.Size, info.Domain, flags);
    }

    private static GemObject Shared(GemObject gem)
    {
        gem.Shared = true;
        return gem;
    }

    /// <summary>A new channel (CHANNEL_ALLOC) on this context, to submit pushbufs on.</summary>
    public async Task<GemChannel> ChannelAllocAsync()
    {
        uint id = Interlocked.Increment(ref _nextChannel);
        await Send(new ChannelAlloc(id, 0));
        return new GemChannel(this, id);
    }

    /// <summary>Submits the builder's commands on <paramref name="channel"/>; returns the fence.</summary>
    public async Task<ulong> SubmitAsync(GemChannel channel, PushbufBuilder pushbuf)
    {
        Interlocked.Increment(ref _submitted);
        var reply = await Send(pushbuf.Build(channel.Id));
        return reply.Read<Replies.Fence>().Number;
    }

    /// <summary>Waits until <paramref name="fence"/> has executed; throws if the work failed or the wait timed out.</summary>
    public Task FenceWaitAsync(ulong fence, TimeSpan? timeout = null, bool noWait = false) =>
        Send(new FenceWait(fence, ToNs(timeout), noWait ? FenceWaitFlags.NoWait : FenceWaitFlags.None));

    internal Task<ReplyFrame> Send(Request request) => Client.SendAsync(request with { Context = Id });

    internal static ulong ToNs(TimeSpan? timeout) => timeout is { } t ? (ulong)Math.Max(1, t.Ticks) * 100 : 0;

    /// <summary>Closes the context on the host, and with it every buffer and channel in it (cached ones too).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        foreach (var cached in Client.Cache.RemoveWhere(c => c.Context == this)) cached.Mapping?.Unmap();
        if (Client.IsConnected) await Send(new CloseContext());
    }
}
