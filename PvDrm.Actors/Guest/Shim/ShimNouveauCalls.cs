using System.Runtime.InteropServices;
using PvDrm.Protocol;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>
/// nouveau's ABI16 ioctls (nouveau_drm.h), as libdrm_nouveau issues them when the driver reports
/// a version below 1.3.1. The words inside push buffers are SoftGpu's command set; this file only
/// translates the envelope.
/// </summary>
internal sealed partial class ShimCalls
{
    private const uint GemDomains = NOUVEAU_GEM_DOMAIN_CPU | NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART
        | NOUVEAU_GEM_DOMAIN_MAPPABLE | NOUVEAU_GEM_DOMAIN_COHERENT;
    private const uint CpuPrepFlagsKnown = NOUVEAU_GEM_CPU_PREP_NOWAIT | 0x2 /* NOSYNC */ | NOUVEAU_GEM_CPU_PREP_WRITE;
    private const ulong NoPrefetch = 1UL << 23;

    private readonly HashSet<int> _channels = new();
    private readonly Dictionary<uint, (uint Mode, uint Flags)> _tiling = new();

    /// <summary>A nouveau ioctl (command number <paramref name="nr"/> past DRM_COMMAND_BASE), or null for one PvDrm does not carry.</summary>
    private ShimStep? Nouveau(ShimRequest r, uint nr) => nr switch
    {
        DRM_NOUVEAU_GETPARAM => GetParam(Arg<drm_nouveau_getparam>(r)),
        DRM_NOUVEAU_CHANNEL_ALLOC => ChannelAlloc(Arg<drm_nouveau_channel_alloc>(r)),
        DRM_NOUVEAU_CHANNEL_FREE => ChannelFree(Arg<drm_nouveau_channel_free>(r)),
        DRM_NOUVEAU_GEM_NEW => GemNew(Arg<drm_nouveau_gem_new>(r)),
        DRM_NOUVEAU_GEM_PUSHBUF => GemPushbuf(r),
        DRM_NOUVEAU_GEM_CPU_PREP => CpuPrep(Arg<drm_nouveau_gem_cpu_prep>(r)),
        DRM_NOUVEAU_GEM_CPU_FINI => CpuFini(Arg<drm_nouveau_gem_cpu_fini>(r)),
        DRM_NOUVEAU_GEM_INFO => GemInfo(Arg<drm_nouveau_gem_info>(r)),
        _ => null,
    };

    private static ShimStep GetParam(drm_nouveau_getparam g) => new Ask(new Requests.GetParam(g.param), ToHost: true, a =>
        a.Status != 0 ? Plain(a, g) : ShimReply.Ok(Bytes(g with { value = a.Read<Replies.Value>().Data })));

    private ShimStep ChannelAlloc(drm_nouveau_channel_alloc c)
    {
        // fb_ctxdma_handle and tt_ctxdma_handle name engines on old chipsets; SoftGpu has one kind.
        uint channel = NextChannel();
        return new Ask(new Requests.ChannelAlloc(channel, 0), false, a =>
        {
            if (a.Status != 0) return Plain(a, c);
            _channels.Add((int)channel);
            // Push buffers in GART (libdrm then allocates them GART | MAP); no notifier, no subchannels.
            return ShimReply.Ok(Bytes(c with { channel = (int)channel, pushbuf_domains = NOUVEAU_GEM_DOMAIN_GART, notifier_handle = 0, nr_subchan = 0 }));
        });
    }

    private ShimStep ChannelFree(drm_nouveau_channel_free c)
    {
        if (!_channels.Remove(c.channel)) return Refuse(Errno.ENOENT, $"CHANNEL_FREE: channel {c.channel} is not allocated on this file");
        return new Ask(new Requests.ChannelFree((uint)c.channel), false, a => Plain(a, c));
    }

    private ShimStep GemNew(drm_nouveau_gem_new n)
    {
        var info = n.info;
        if ((info.domain & ~GemDomains) != 0 || (info.domain & (NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART | NOUVEAU_GEM_DOMAIN_CPU)) == 0)
            return Refuse(Errno.EINVAL, $"GEM_NEW: domain 0x{info.domain:x} names no memory PvDrm has (VRAM, GART or CPU, optionally MAPPABLE, COHERENT)");
        uint handle = NextHandle();
        var domain = (GemDomain)(info.domain & (uint)(GemDomain.Cpu | GemDomain.Vram | GemDomain.Gart | GemDomain.Mappable));
        return new Ask(new Requests.GemNew(handle, domain, info.size, 0), false, a =>
        {
            if (a.Status != 0) return Plain(a, n);
            _tiling[handle] = (info.tile_mode, info.tile_flags); // SoftGpu has no tiling: reported back as asked
            return ShimReply.Ok(Bytes(n with { info = Info(a.Read<Replies.GemInfo>()) }));
        });
    }

    private ShimStep GemInfo(drm_nouveau_gem_info i) => new Ask(new Requests.GemInfo(i.handle), false, a =>
        a.Status != 0 ? Plain(a, i) : ShimReply.Ok(Bytes(Info(a.Read<Replies.GemInfo>()))));

    private static ShimStep CpuPrep(drm_nouveau_gem_cpu_prep p)
    {
        if ((p.flags & ~CpuPrepFlagsKnown) != 0) return Refuse(Errno.EINVAL, $"GEM_CPU_PREP: unknown flags 0x{p.flags:x}");
        var flags = (CpuPrepFlags)(p.flags & (NOUVEAU_GEM_CPU_PREP_NOWAIT | NOUVEAU_GEM_CPU_PREP_WRITE));
        return new Ask(new Requests.CpuPrep(p.handle, flags, 0), false, a => Plain(a, p));
    }

    private static ShimStep CpuFini(drm_nouveau_gem_cpu_fini f) => new Ask(new Requests.CpuFini(f.handle), false, a => Plain(a, f));

    /// <summary>
    /// GEM_PUSHBUF: the buffer list and push entries become a PvDrm PUSHBUF; the command words stay
    /// in the program's GEM buffers, where the host reads them. Relocations are checked and not
    /// applied: PvDrm's buffers never move, so every presumed offset stays valid, which is when
    /// the kernel skips them too.
    /// </summary>
    private ShimStep GemPushbuf(ShimRequest r)
    {
        var p = Arg<drm_nouveau_gem_pushbuf>(r);
        if (!_channels.Contains((int)p.channel)) return Refuse(Errno.ENOENT, $"GEM_PUSHBUF: channel {p.channel} is not allocated on this file");
        if (p.nr_buffers > NOUVEAU_GEM_MAX_BUFFERS || p.nr_relocs > NOUVEAU_GEM_MAX_RELOCS || p.nr_push > NOUVEAU_GEM_MAX_PUSH)
            return Refuse(Errno.EINVAL, $"GEM_PUSHBUF: {p.nr_buffers} buffers, {p.nr_relocs} relocations, {p.nr_push} pushes exceed nouveau's " +
                $"{NOUVEAU_GEM_MAX_BUFFERS}, {NOUVEAU_GEM_MAX_RELOCS}, {NOUVEAU_GEM_MAX_PUSH}");
        if (r.Blobs.Length != 3 || !Sized<drm_nouveau_gem_pushbuf_bo>(r.Blobs[0], p.nr_buffers)
            || !Sized<drm_nouveau_gem_pushbuf_reloc>(r.Blobs[1], p.nr_relocs) || !Sized<drm_nouveau_gem_pushbuf_push>(r.Blobs[2], p.nr_push))
            return Refuse(Errno.EINVAL, "GEM_PUSHBUF: the arrays sent with the call do not match nr_buffers, nr_relocs and nr_push");
        // libdrm sizes its batches by what is available; suffixes are for pre-Fermi rings (none here).
        var reply = p with { suffix0 = 0, suffix1 = 0, vram_available = VramSize, gart_available = GartSize };
        if (p.nr_push == 0) return new Answered(ShimReply.Ok(Bytes(reply))); // libdrm's probe for the suffixes

        var bos = MemoryMarshal.Cast<byte, drm_nouveau_gem_pushbuf_bo>(r.Blobs[0]);
        var buffers = new PushbufBuffer[bos.Length];
        var seen = new HashSet<uint>();
        for (int i = 0; i < bos.Length; i++)
        {
            if (!seen.Add(bos[i].handle)) return Refuse(Errno.EINVAL, $"GEM_PUSHBUF: handle {bos[i].handle} is listed twice");
            var access = (bos[i].read_domains != 0 ? BufferAccess.Read : 0) | (bos[i].write_domains != 0 ? BufferAccess.Write : 0);
            buffers[i] = new PushbufBuffer(bos[i].handle, access == 0 ? BufferAccess.Read : access);
        }
        foreach (var reloc in MemoryMarshal.Cast<byte, drm_nouveau_gem_pushbuf_reloc>(r.Blobs[1]))
            if (reloc.reloc_bo_index >= p.nr_buffers || reloc.bo_index >= p.nr_buffers || reloc.reloc_bo_offset % 4 != 0)
                return Refuse(Errno.EINVAL, $"GEM_PUSHBUF: a relocation names buffer {Math.Max(reloc.reloc_bo_index, reloc.bo_index)} of {p.nr_buffers}, or an unaligned offset");
        var pushes = MemoryMarshal.Cast<byte, drm_nouveau_gem_pushbuf_push>(r.Blobs[2]);
        var push = new PushEntry[pushes.Length];
        for (int i = 0; i < pushes.Length; i++)
        {
            if (pushes[i].bo_index >= p.nr_buffers) return Refuse(Errno.EINVAL, $"GEM_PUSHBUF: push {i} names buffer {pushes[i].bo_index} of {p.nr_buffers}");
            push[i] = new PushEntry(pushes[i].bo_index, pushes[i].offset, pushes[i].length & ~NoPrefetch);
        }
        return new Ask(new Requests.Pushbuf(p.channel, buffers, push, ReadOnlyMemory<byte>.Empty), false, a =>
            a.Status != 0 ? Plain(a, p) : ShimReply.Ok(Bytes(reply)));
    }

    /// <summary>GEM info as nouveau reports it: one placement, the map offset also as the GPU address.</summary>
    private drm_nouveau_gem_info Info(in Replies.GemInfo i)
    {
        var tiling = _tiling.GetValueOrDefault(i.Handle);
        return new drm_nouveau_gem_info
        {
            handle = i.Handle,
            // The kernel names where the buffer is now; SoftGpu memory is one kind, so VRAM when allowed.
            domain = (i.Domain & GemDomain.Vram) != 0 ? NOUVEAU_GEM_DOMAIN_VRAM : NOUVEAU_GEM_DOMAIN_GART,
            size = i.Size,
            offset = i.MapOffset,
            map_handle = i.MapOffset,
            tile_mode = tiling.Mode,
            tile_flags = tiling.Flags,
        };
    }

    private static bool Sized<T>(byte[] blob, uint count) where T : unmanaged =>
        (ulong)blob.Length == count * (ulong)System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
}
