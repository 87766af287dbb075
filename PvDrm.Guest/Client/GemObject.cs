using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Memory;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Guest.Client;

/// <summary>A GEM buffer object in a context, named by its guest handle.</summary>
public sealed class GemObject
{
    internal GemObject(DrmContext context, uint handle, ulong size, GemDomain domain)
    {
        Context = context;
        Handle = handle;
        Size = size;
        Domain = domain;
    }

    public DrmContext Context { get; }

    public uint Handle { get; }

    public ulong Size { get; }

    public GemDomain Domain { get; }

    /// <summary>
    /// Maps the buffer: the host passes its descriptor and this process maps the very pages the
    /// GPU uses (zero copy). Needs a Unix connection.
    /// </summary>
    public async Task<GemMapping> MapAsync()
    {
        var reply = await Context.Send(new GemMap(Handle));
        var fd = reply.TakeFd() ?? throw new DrmException(Op.GemMap, Native.Interop.Errno.EPROTO, "the reply carried no descriptor");
        using (fd)
        {
            var info = reply.Read<Replies.GemMap>();
            return new GemMapping(Mapping.Map(fd, info.Size));
        }
    }

    /// <summary>Gives the object a global name another context of this guest can open with <see cref="DrmContext.ImportAsync"/>.</summary>
    public async Task<uint> ExportAsync() => (await Context.Send(new GemExport(Handle))).Read<Replies.Name>().Number;

    /// <summary>The buffer as a descriptor to hand to another application (PRIME); the caller owns it.</summary>
    public async Task<Native.Interop.FileDescriptor> PrimeExportAsync()
    {
        var reply = await Context.Send(new PrimeExport(Handle));
        return reply.TakeFd() ?? throw new DrmException(Op.PrimeExport, Native.Interop.Errno.EPROTO, "the reply carried no descriptor");
    }

    /// <summary>Copies bytes in through the host (GEM_WRITE), in chunks that fit a frame; for transports without mapping.</summary>
    public async Task WriteAsync(ulong offset, ReadOnlyMemory<byte> data)
    {
        int chunk = Context.Client.MaxChunk;
        var sends = new List<Task>();
        for (int done = 0; done < data.Length; done += chunk)
        {
            int n = Math.Min(chunk, data.Length - done);
            sends.Add(Context.Send(new GemWrite(Handle, offset + (ulong)done, data.Slice(done, n))));
        }
        await Task.WhenAll(sends);
    }

    /// <summary>Copies bytes out through the host (GEM_READ), in chunks, all in flight at once.</summary>
    public async Task ReadAsync(ulong offset, Memory<byte> destination)
    {
        int chunk = Context.Client.MaxChunk;
        var reads = new List<(int At, Task<ReplyFrame> Reply)>();
        for (int done = 0; done < destination.Length; done += chunk)
        {
            int n = Math.Min(chunk, destination.Length - done);
            reads.Add((done, Context.Send(new GemRead(Handle, offset + (ulong)done, (uint)n))));
        }
        foreach (var (at, reply) in reads) (await reply).Payload.CopyTo(destination[at..]);
    }

    /// <summary>Waits until the GPU is done with this buffer (CPU_PREP): EBUSY with <paramref name="noWait"/> if it is not.</summary>
    public Task CpuPrepAsync(bool write = true, bool noWait = false, TimeSpan? timeout = null) =>
        Context.Send(new CpuPrep(Handle, (write ? CpuPrepFlags.Write : 0) | (noWait ? CpuPrepFlags.NoWait : 0), DrmContext.ToNs(timeout)));

    public Task CpuFiniAsync() => Context.Send(new CpuFini(Handle));

    public async Task<Replies.GemInfo> InfoAsync() => (await Context.Send(new GemInfo(Handle))).Read<Replies.GemInfo>();

    public Task CloseAsync() => Context.Send(new GemClose(Handle));
}
