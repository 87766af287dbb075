using static PvDrm.Native.Drm.Uapi.DrmHeader;

namespace PvDrm.Native.Drm.Uapi;

// nouveau_drm.h (libdrm-dev: /usr/include/libdrm/nouveau_drm.h; kernel:
// include/uapi/drm/nouveau_drm.h), the legacy ABI16 calls PvDrm uses. libdrm's copy has no
// DRM_IOCTL_NOUVEAU_* macros; the numbers below follow the kernel's definitions (direction,
// command, struct), which the layout probe transcribes in nouveau_ioctl.h.

/// <summary>DRM_IOCTL_NOUVEAU_GETPARAM.</summary>
public struct drm_nouveau_getparam
{
    public ulong param;
    public ulong value;
}

/// <summary>
/// DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC. PvDrm sends it zeroed, as libdrm does for Fermi and later:
/// the kernel picks the graphics engine and returns the channel id and its pushbuf domains.
/// </summary>
public unsafe struct drm_nouveau_channel_alloc
{
    public uint fb_ctxdma_handle;
    public uint tt_ctxdma_handle;
    public int channel;
    public uint pushbuf_domains;
    public uint notifier_handle;
    /// <summary>C: <c>struct { __u32 handle; __u32 grclass; } subchan[8]</c>, as 16 words (never used by PvDrm).</summary>
    public fixed uint subchan[16];
    public uint nr_subchan;
}

/// <summary>DRM_IOCTL_NOUVEAU_CHANNEL_FREE.</summary>
public struct drm_nouveau_channel_free
{
    public int channel;
}

/// <summary>DRM_IOCTL_NOUVEAU_GEM_INFO, and the reply part of GEM_NEW.</summary>
public struct drm_nouveau_gem_info
{
    public uint handle;
    public uint domain;
    public ulong size;
    /// <summary>The buffer's GPU virtual address.</summary>
    public ulong offset;
    /// <summary>The fake offset to mmap the device file at for CPU access.</summary>
    public ulong map_handle;
    public uint tile_mode;
    public uint tile_flags;
}

/// <summary>DRM_IOCTL_NOUVEAU_GEM_NEW.</summary>
public struct drm_nouveau_gem_new
{
    public drm_nouveau_gem_info info;
    public uint channel_hint;
    public uint align;
}

public struct drm_nouveau_gem_pushbuf_bo_presumed
{
    public uint valid;
    public uint domain;
    public ulong offset;
}

/// <summary>One entry of DRM_NOUVEAU_GEM_PUSHBUF's buffer list.</summary>
public struct drm_nouveau_gem_pushbuf_bo
{
    public ulong user_priv;
    public uint handle;
    public uint read_domains;
    public uint write_domains;
    public uint valid_domains;
    public drm_nouveau_gem_pushbuf_bo_presumed presumed;
}

/// <summary>
/// One relocation of DRM_NOUVEAU_GEM_PUSHBUF: patch the word at <c>reloc_bo_offset</c> of buffer
/// <c>reloc_bo_index</c> with buffer <c>bo_index</c>'s address. The kernel skips it while that
/// buffer's presumed offset is valid.
/// </summary>
public struct drm_nouveau_gem_pushbuf_reloc
{
    public uint reloc_bo_index;
    public uint reloc_bo_offset;
    public uint bo_index;
    public uint flags;
    public uint data;
    public uint vor;
    public uint tor;
}

/// <summary>One push entry: <c>length</c> bytes of commands at <c>offset</c> in buffer <c>bo_index</c> of the list.</summary>
public struct drm_nouveau_gem_pushbuf_push
{
    public uint bo_index;
    public uint pad;
    public ulong offset;
    public ulong length;
}

/// <summary>DRM_IOCTL_NOUVEAU_GEM_PUSHBUF. <c>buffers</c>, <c>relocs</c> and <c>push</c> are user pointers.</summary>
public struct drm_nouveau_gem_pushbuf
{
    public uint channel;
    public uint nr_buffers;
    public ulong buffers;
    public uint nr_relocs;
    public uint nr_push;
    public ulong relocs;
    public ulong push;
    public uint suffix0;
    public uint suffix1;
    public ulong vram_available;
    public ulong gart_available;
}

/// <summary>DRM_IOCTL_NOUVEAU_GEM_CPU_PREP: waits (up to 30 s in the kernel) until the GPU is done with the buffer.</summary>
public struct drm_nouveau_gem_cpu_prep
{
    public uint handle;
    public uint flags;
}

/// <summary>DRM_IOCTL_NOUVEAU_GEM_CPU_FINI.</summary>
public struct drm_nouveau_gem_cpu_fini
{
    public uint handle;
}

public static class NouveauDrm
{
    public const ulong NOUVEAU_GETPARAM_PCI_VENDOR = 3;
    public const ulong NOUVEAU_GETPARAM_PCI_DEVICE = 4;
    public const ulong NOUVEAU_GETPARAM_BUS_TYPE = 5;
    public const ulong NOUVEAU_GETPARAM_FB_SIZE = 8;
    public const ulong NOUVEAU_GETPARAM_AGP_SIZE = 9;
    public const ulong NOUVEAU_GETPARAM_CHIPSET_ID = 11;
    public const ulong NOUVEAU_GETPARAM_VM_VRAM_BASE = 12;
    public const ulong NOUVEAU_GETPARAM_GRAPH_UNITS = 13;
    public const ulong NOUVEAU_GETPARAM_PTIMER_TIME = 14;
    public const ulong NOUVEAU_GETPARAM_HAS_BO_USAGE = 15;
    public const ulong NOUVEAU_GETPARAM_HAS_PAGEFLIP = 16;

    public const uint NOUVEAU_GEM_DOMAIN_CPU = 1 << 0;
    public const uint NOUVEAU_GEM_DOMAIN_VRAM = 1 << 1;
    public const uint NOUVEAU_GEM_DOMAIN_GART = 1 << 2;
    public const uint NOUVEAU_GEM_DOMAIN_MAPPABLE = 1 << 3;
    public const uint NOUVEAU_GEM_DOMAIN_COHERENT = 1 << 4;

    public const uint NOUVEAU_GEM_MAX_BUFFERS = 1024;
    public const uint NOUVEAU_GEM_MAX_RELOCS = 1024;
    public const uint NOUVEAU_GEM_MAX_PUSH = 512;

    public const ulong NOUVEAU_GEM_PUSHBUF_SYNC = 1UL << 0;

    public const uint NOUVEAU_GEM_CPU_PREP_NOWAIT = 0x00000001;
    public const uint NOUVEAU_GEM_CPU_PREP_WRITE = 0x00000004;

    public const uint DRM_NOUVEAU_GETPARAM = 0x00;
    public const uint DRM_NOUVEAU_CHANNEL_ALLOC = 0x02;
    public const uint DRM_NOUVEAU_CHANNEL_FREE = 0x03;
    public const uint DRM_NOUVEAU_GEM_NEW = 0x40;
    public const uint DRM_NOUVEAU_GEM_PUSHBUF = 0x41;
    public const uint DRM_NOUVEAU_GEM_CPU_PREP = 0x42;
    public const uint DRM_NOUVEAU_GEM_CPU_FINI = 0x43;
    public const uint DRM_NOUVEAU_GEM_INFO = 0x44;

    public static readonly uint DRM_IOCTL_NOUVEAU_GETPARAM = DRM_IOWR<drm_nouveau_getparam>(DRM_COMMAND_BASE + DRM_NOUVEAU_GETPARAM);
    public static readonly uint DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC = DRM_IOWR<drm_nouveau_channel_alloc>(DRM_COMMAND_BASE + DRM_NOUVEAU_CHANNEL_ALLOC);
    public static readonly uint DRM_IOCTL_NOUVEAU_CHANNEL_FREE = DRM_IOW<drm_nouveau_channel_free>(DRM_COMMAND_BASE + DRM_NOUVEAU_CHANNEL_FREE);
    public static readonly uint DRM_IOCTL_NOUVEAU_GEM_NEW = DRM_IOWR<drm_nouveau_gem_new>(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_NEW);
    public static readonly uint DRM_IOCTL_NOUVEAU_GEM_PUSHBUF = DRM_IOWR<drm_nouveau_gem_pushbuf>(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_PUSHBUF);
    public static readonly uint DRM_IOCTL_NOUVEAU_GEM_CPU_PREP = DRM_IOW<drm_nouveau_gem_cpu_prep>(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_CPU_PREP);
    public static readonly uint DRM_IOCTL_NOUVEAU_GEM_CPU_FINI = DRM_IOW<drm_nouveau_gem_cpu_fini>(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_CPU_FINI);
    public static readonly uint DRM_IOCTL_NOUVEAU_GEM_INFO = DRM_IOWR<drm_nouveau_gem_info>(DRM_COMMAND_BASE + DRM_NOUVEAU_GEM_INFO);
}
