using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Guest.Client;

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

    public DrmClient Client { get; }

    public uint Id { get; }

    /// <summary>The fence number the next PUSHBUF on this context will get.</summary>
    public ulong NextFence => (ulong)Interlocked.Read(ref _submitted) + 1;

    public async Task<GemObject> GemNewAsync(ulong size, GemDomain domain = GemDomain.Vram | GemDomain.Mappable, uint flags = 0)
    {
        uint handle = Interlocked.Increment(ref _nextHandle);
        return Opened(await Send(new GemNew(handle, domain, size, flags)));
    }

    /// <summary>Opens the object with global name <paramref name="name"/> (from <see cref="GemObject.ExportAsync"/>) in this context.</summary>
    public async Task<GemObject> ImportAsync(uint name) =>
        Opened(await Send(new GemImport(name, Interlocked.Increment(ref _nextHandle))));

    /// <summary>
    /// Opens the buffer behind <paramref name="fd"/> (from <see cref="GemObject.PrimeExportAsync"/>
    /// of another application, or a memfd made with MFD_ALLOW_SEALING) in this context. The caller
    /// keeps <paramref name="fd"/>.
    /// </summary>
    public async Task<GemObject> PrimeImportAsync(Native.Interop.FileDescriptor fd) =>
        Opened(await Send(new PrimeImport(Interlocked.Increment(ref _nextHandle)) { Fd = fd }));

    private GemObject Opened(ReplyFrame reply)
    {
        var info = reply.Read<Replies.GemInfo>();
        return new GemObject(this, info.Handle, info.Size, info.Domain);
    }

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

    /// <summary>Closes the context on the host, and with it every buffer and channel in it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0 || !Client.IsConnected) return;
        await Send(new CloseContext());
    }
}
