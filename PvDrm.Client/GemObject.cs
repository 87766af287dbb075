using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Client;

/// <summary>A GEM buffer object in a context, named by its guest handle.</summary>
public sealed class GemObject
{
    private GemMapping? _mapping;

    internal GemObject(DrmContext context, uint handle, ulong size, GemDomain domain, uint flags = 0, GemMapping? mapping = null)
    {
        Context = context;
        Handle = handle;
        Size = size;
        Domain = domain;
        Flags = flags;
        _mapping = mapping;
    }

    /// <summary>The context the object belongs to.</summary>
    public DrmContext Context { get; }

    /// <summary>The object's handle in its context.</summary>
    public uint Handle { get; }

    /// <inheritdoc />
    public ulong Size { get; }

    /// <summary>Where the object lives (GEM_NEW's domain).</summary>
    public GemDomain Domain { get; }

    /// <summary>GEM_NEW's flags.</summary>
    public uint Flags { get; }

    /// <summary>Exported, imported or handed out as a descriptor: others may see it, so it is never cached.</summary>
    public bool Shared { get; internal set; }

    internal GemMapping? Mapping => _mapping;

    /// <summary>
    /// Maps the buffer: the host passes its descriptor and this process maps the very pages the
    /// GPU uses (zero copy). Needs a Unix connection; in a VM, the guest proxy's (which passes its
    /// shared region with the host). Mapped once; later calls (and a cached object
    /// handed out again) return the same mapping without asking the host.
    /// </summary>
    public async Task<GemMapping> MapAsync()
    {
        if (_mapping is { } mapped)
        {
            Context.Client.Cache.CountSaved(1);
            return mapped;
        }
        var reply = await Context.Send(new GemMap(Handle));
        using var fd = reply.TakeFd() ?? throw new DrmException(Op.GemMap, Native.Interop.Errno.EPROTO, "the reply carried no descriptor");
        var info = reply.Read<Replies.GemMap>();
        // Through a VM's proxy, a buffer in the shared region comes as the region's file and where it begins there.
        ulong at = info.RegionOffset == Replies.GemMap.NoRegion ? 0 : info.RegionOffset;
        return _mapping = new GemMapping(Native.Memory.Mapping.Map(fd, at, info.Size));
    }

    /// <summary>Unmaps the buffer now rather than when it is closed.</summary>
    public void Unmap()
    {
        _mapping?.Unmap();
        _mapping = null;
    }

    /// <summary>Gives the object a global name another context of this guest can open with <see cref="DrmContext.ImportAsync"/>.</summary>
    public async Task<uint> ExportAsync()
    {
        Shared = true;
        return (await Context.Send(new GemExport(Handle))).Read<Replies.Name>().Number;
    }

    /// <summary>The buffer as a descriptor to hand to another application (PRIME); the caller owns it.</summary>
    public async Task<Native.Interop.FileDescriptor> PrimeExportAsync()
    {
        Shared = true;
        var reply = await Context.Send(new PrimeExport(Handle));
        return reply.TakeFd() ?? throw new DrmException(Op.PrimeExport, Native.Interop.Errno.EPROTO, "the reply carried no descriptor");
    }

    /// <summary>
    /// Copies bytes in through the host (GEM_WRITE), in chunks that fit a frame, a bounded window
    /// of them in flight; for transports without mapping.
    /// </summary>
    public Task WriteAsync(ulong offset, ReadOnlyMemory<byte> data) =>
        InChunks(data.Length, (at, n) => Context.Send(new GemWrite(Handle, offset + (ulong)at, data.Slice(at, n))), null);

    /// <summary>Copies bytes out through the host (GEM_READ), in chunks, a bounded window of them in flight.</summary>
    public Task ReadAsync(ulong offset, Memory<byte> destination) =>
        InChunks(destination.Length, (at, n) => Context.Send(new GemRead(Handle, offset + (ulong)at, (uint)n)),
            (at, reply) => reply.Payload.CopyTo(destination.Span[at..]));

    /// <summary>
    /// Sends one request per chunk of <paramref name="length"/> bytes, keeping at most
    /// <see cref="DrmClient.ChunksInFlight"/> unanswered: all at once would queue the whole copy in
    /// the connection's send queue, which closes the connection when a copy outgrows it.
    /// </summary>
    private async Task InChunks(int length, Func<int, int, Task<ReplyFrame>> send, Action<int, ReplyFrame>? received)
    {
        int chunk = Context.Client.MaxChunk;
        var window = new Queue<(int At, Task<ReplyFrame> Reply)>(Context.Client.ChunksInFlight);
        try
        {
            for (int at = 0; at < length || window.Count > 0;)
            {
                if (at < length && window.Count < Context.Client.ChunksInFlight)
                {
                    int n = Math.Min(chunk, length - at);
                    window.Enqueue((at, send(at, n)));
                    at += n;
                    continue;
                }
                var (done, reply) = window.Dequeue();
                var answer = await reply; // not inside ?.Invoke: that would skip awaiting writes
                received?.Invoke(done, answer);
            }
        }
        catch when (window.Count > 0)
        {
            // Let the chunks still in flight finish (their failures are this one's), so none is left unobserved.
            try
            {
                await Task.WhenAll(window.Select(w => w.Reply));
            }
            catch (DrmException)
            {
            }
            throw;
        }
    }

    /// <summary>Waits until the GPU is done with this buffer (CPU_PREP): EBUSY with <paramref name="noWait"/> if it is not.</summary>
    public Task CpuPrepAsync(bool write = true, bool noWait = false, TimeSpan? timeout = null) =>
        Context.Send(new CpuPrep(Handle, (write ? CpuPrepFlags.Write : 0) | (noWait ? CpuPrepFlags.NoWait : 0), DrmContext.ToNs(timeout)));

    /// <summary>Ends CPU access begun with CPU_PREP (CPU_FINI).</summary>
    public Task CpuFiniAsync() => Context.Send(new CpuFini(Handle));

    /// <summary>The object's size, domain and map offset as the host has them (GEM_INFO).</summary>
    public async Task<Replies.GemInfo> InfoAsync() => (await Context.Send(new GemInfo(Handle))).Read<Replies.GemInfo>();

    /// <summary>
    /// Closes the handle: with the cache on, an unshared object (and its mapping) goes to the pool
    /// for the next compatible GEM_NEW of this context instead of back to the host.
    /// </summary>
    public Task CloseAsync() => Context.CloseAsync(this);
}
