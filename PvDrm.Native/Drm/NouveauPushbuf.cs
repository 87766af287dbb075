using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Drm;

/// <summary>
/// Translates a <see cref="Pushbuf"/> into DRM_NOUVEAU_GEM_PUSHBUF's two arrays, checking
/// everything the kernel would refuse before the call: counts, ownership, ranges, alignment.
/// The command words pass through untouched (they are the guest's hardware methods, as in
/// PVDRM); nothing is relocated (nr_relocs = 0: buffers have fixed GPU addresses since NV50).
/// </summary>
internal static class NouveauPushbuf
{
    /// <summary>NOUVEAU_GEM_PUSHBUF_NO_PREFETCH, a flag bit inside push lengths (kernel uapi only; libdrm's header lacks it).</summary>
    internal const ulong NoPrefetchBit = 1UL << 23;

    private const uint GpuDomains = NOUVEAU_GEM_DOMAIN_VRAM | NOUVEAU_GEM_DOMAIN_GART;

    /// <summary>
    /// The kernel request for one pushbuf. <see cref="Buffers"/> lists each buffer once, in
    /// <see cref="Bos"/> order; <see cref="Staging"/>, when inline commands exist, is the last
    /// of them and is owned by the request.
    /// </summary>
    public sealed record Request(DrmBuffer[] Buffers, drm_nouveau_gem_pushbuf_bo[] Bos, drm_nouveau_gem_pushbuf_push[] Push, DrmBuffer? Staging);

    /// <param name="createStaging">Allocates a GART buffer of the given size for the inline block.</param>
    /// <param name="session">The channel's DRM file: every buffer must have its handle there.</param>
    public static Request Translate(DrmSession session, Pushbuf pushbuf, Func<ulong, DrmBuffer> createStaging)
    {
        var device = session.DrmDevice;
        if ((uint)pushbuf.Push.Length > NOUVEAU_GEM_MAX_PUSH)
            ErrnoException.Throw(Errno.E2BIG, $"pushbuf: {pushbuf.Push.Length} push entries exceed nouveau's {NOUVEAU_GEM_MAX_PUSH}");

        // The kernel refuses a handle listed twice: list each buffer once with the union of its accesses.
        var unique = new List<DrmBuffer>();
        var access = new List<BufferAccess>();
        var indexOf = new int[pushbuf.Buffers.Length];
        var byHandle = new Dictionary<uint, int>();
        for (int i = 0; i < pushbuf.Buffers.Length; i++)
        {
            if (pushbuf.Buffers[i] is not DrmBuffer buffer || buffer.Device != device)
                throw new ErrnoException(Errno.EINVAL, $"pushbuf: buffer {i} does not belong to DRM device {device.Name}");
            // Handles are per file: in this file the number could name nothing, or another object.
            if (buffer.Session != session)
                throw new ErrnoException(Errno.EINVAL, $"pushbuf: buffer {i} was made in another DRM file (another context's) on {device.Name}; " +
                    "its handle means nothing in this channel's file, and buffers are not imported between files");
            if (!byHandle.TryGetValue(buffer.Handle, out int at))
            {
                at = unique.Count;
                byHandle.Add(buffer.Handle, at);
                unique.Add(buffer);
                access.Add(BufferAccess.None);
            }
            access[at] |= pushbuf.Access[i];
            indexOf[i] = at;
        }

        bool anyInline = pushbuf.Push.Any(p => p.BufferIndex == PushEntry.InlineIndex);
        if (unique.Count + (anyInline ? 1 : 0) > NOUVEAU_GEM_MAX_BUFFERS)
            ErrnoException.Throw(Errno.E2BIG, $"pushbuf: {unique.Count} buffers exceed nouveau's {NOUVEAU_GEM_MAX_BUFFERS}");

        var push = new drm_nouveau_gem_pushbuf_push[pushbuf.Push.Length];
        for (int i = 0; i < push.Length; i++)
        {
            var entry = pushbuf.Push[i];
            bool inline = entry.BufferIndex == PushEntry.InlineIndex;
            if (!inline && entry.BufferIndex >= (uint)pushbuf.Buffers.Length)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry {i} names buffer {entry.BufferIndex}, but the pushbuf lists {pushbuf.Buffers.Length}");
            ulong size = inline ? (ulong)pushbuf.Inline.Length : pushbuf.Buffers[entry.BufferIndex].Size;
            string where = inline ? "the inline block" : $"buffer {entry.BufferIndex}";
            if (entry.Offset > size || entry.Length > size - entry.Offset)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry [{entry.Offset}, +{entry.Length}) exceeds {where} ({size} bytes)");
            if (entry.Offset % 4 != 0 || entry.Length % 4 != 0)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry [{entry.Offset}, +{entry.Length}) is not word aligned");
            if (entry.Length >= NoPrefetchBit)
                ErrnoException.Throw(Errno.E2BIG, $"pushbuf: push entry of {entry.Length} bytes exceeds nouveau's {NoPrefetchBit - 4}");
            push[i] = new drm_nouveau_gem_pushbuf_push
            {
                bo_index = inline ? (uint)unique.Count : (uint)indexOf[entry.BufferIndex],
                offset = entry.Offset,
                length = entry.Length,
            };
        }

        DrmBuffer? staging = null;
        if (anyInline)
        {
            // nouveau fetches commands from buffers only: inline words travel in a GART staging buffer.
            staging = createStaging((ulong)Math.Max(pushbuf.Inline.Length, 4));
            staging.Write(0, pushbuf.Inline.Span);
            unique.Add(staging);
            access.Add(BufferAccess.Read);
        }

        var bos = new drm_nouveau_gem_pushbuf_bo[unique.Count];
        for (int i = 0; i < bos.Length; i++)
        {
            uint domains = (uint)unique[i].Domain & GpuDomains;
            if (domains == 0) domains = NOUVEAU_GEM_DOMAIN_GART; // a CPU-domain buffer is bound through GART
            // The kernel places a buffer in valid & (write ? write : read): a listed buffer is at least read.
            bos[i] = new drm_nouveau_gem_pushbuf_bo
            {
                user_priv = (ulong)i,
                handle = unique[i].Handle,
                read_domains = (access[i] & BufferAccess.Write) == 0 || (access[i] & BufferAccess.Read) != 0 ? domains : 0,
                write_domains = (access[i] & BufferAccess.Write) != 0 ? domains : 0,
                valid_domains = GpuDomains,
            };
        }
        return new Request(unique.ToArray(), bos, push, staging);
    }
}
