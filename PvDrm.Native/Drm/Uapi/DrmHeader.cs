using static PvDrm.Native.Drm.Uapi.IoctlHeader;

namespace PvDrm.Native.Drm.Uapi;

// drm.h (libdrm-dev: /usr/include/libdrm/drm.h; kernel: include/uapi/drm/drm.h), the parts PvDrm
// uses. C names are kept so the header sits beside this file; DrmLayoutTests compiles a probe
// against the installed header and compares every size, offset, number and constant below.

/// <summary>DRM_IOCTL_VERSION. The kernel copies at most *_len bytes (no NUL) and sets *_len to the full length.</summary>
public unsafe struct drm_version
{
    public int version_major;
    public int version_minor;
    public int version_patchlevel;
    public nuint name_len;      // __kernel_size_t
    public byte* name;
    public nuint date_len;
    public byte* date;
    public nuint desc_len;
    public byte* desc;
}

/// <summary>DRM_IOCTL_GET_CAP.</summary>
public struct drm_get_cap
{
    public ulong capability;
    public ulong value;
}

/// <summary>DRM_IOCTL_PRIME_HANDLE_TO_FD and DRM_IOCTL_PRIME_FD_TO_HANDLE.</summary>
public struct drm_prime_handle
{
    public uint handle;
    /// <summary>Only for handle to fd: DRM_CLOEXEC, DRM_RDWR.</summary>
    public uint flags;
    /// <summary>The dma-buf file descriptor (returned, or passed in for fd to handle).</summary>
    public int fd;
}

/// <summary>DRM_IOCTL_GEM_CLOSE.</summary>
public struct drm_gem_close
{
    public uint handle;
    public uint pad;
}

/// <summary>DRM_IOCTL_GEM_FLINK. Defined for the layout check only: flink names are global and guessable, so PvDrm never allows it.</summary>
public struct drm_gem_flink
{
    public uint handle;
    public uint name;
}

/// <summary>DRM_IOCTL_GEM_OPEN. Defined for the layout check only, like <see cref="drm_gem_flink"/>.</summary>
public struct drm_gem_open
{
    public uint name;
    public uint handle;
    public ulong size;
}

public static class DrmHeader
{
    public const uint DRM_IOCTL_BASE = 'd';
    public const uint DRM_COMMAND_BASE = 0x40;
    public const uint DRM_COMMAND_END = 0xA0;

    /// <summary>O_CLOEXEC and O_RDWR as x86-64 and arm64 define them (drm.h aliases the fcntl.h names).</summary>
    public const uint DRM_CLOEXEC = 0x80000;
    public const uint DRM_RDWR = 0x2;

    public const ulong DRM_CAP_DUMB_BUFFER = 0x1;
    public const ulong DRM_CAP_VBLANK_HIGH_CRTC = 0x2;
    public const ulong DRM_CAP_DUMB_PREFERRED_DEPTH = 0x3;
    public const ulong DRM_CAP_DUMB_PREFER_SHADOW = 0x4;
    public const ulong DRM_CAP_PRIME = 0x5;
    public const ulong DRM_PRIME_CAP_IMPORT = 0x1;
    public const ulong DRM_PRIME_CAP_EXPORT = 0x2;
    public const ulong DRM_CAP_TIMESTAMP_MONOTONIC = 0x6;
    public const ulong DRM_CAP_SYNCOBJ = 0x13;

    public static uint DRM_IO(uint nr) => _IO(DRM_IOCTL_BASE, nr);

    public static uint DRM_IOR<T>(uint nr) where T : unmanaged => _IOR<T>(DRM_IOCTL_BASE, nr);

    public static uint DRM_IOW<T>(uint nr) where T : unmanaged => _IOW<T>(DRM_IOCTL_BASE, nr);

    public static uint DRM_IOWR<T>(uint nr) where T : unmanaged => _IOWR<T>(DRM_IOCTL_BASE, nr);

    public static readonly uint DRM_IOCTL_VERSION = DRM_IOWR<drm_version>(0x00);
    public static readonly uint DRM_IOCTL_GEM_CLOSE = DRM_IOW<drm_gem_close>(0x09);
    public static readonly uint DRM_IOCTL_GEM_FLINK = DRM_IOWR<drm_gem_flink>(0x0a);
    public static readonly uint DRM_IOCTL_GEM_OPEN = DRM_IOWR<drm_gem_open>(0x0b);
    public static readonly uint DRM_IOCTL_GET_CAP = DRM_IOWR<drm_get_cap>(0x0c);
    public static readonly uint DRM_IOCTL_PRIME_HANDLE_TO_FD = DRM_IOWR<drm_prime_handle>(0x2d);
    public static readonly uint DRM_IOCTL_PRIME_FD_TO_HANDLE = DRM_IOWR<drm_prime_handle>(0x2e);

    // drm.h defines the dumb-buffer ioctls; their argument structs live in drm_mode.h (DrmMode.cs).
    public static readonly uint DRM_IOCTL_MODE_CREATE_DUMB = DRM_IOWR<drm_mode_create_dumb>(0xB2);
    public static readonly uint DRM_IOCTL_MODE_MAP_DUMB = DRM_IOWR<drm_mode_map_dumb>(0xB3);
    public static readonly uint DRM_IOCTL_MODE_DESTROY_DUMB = DRM_IOWR<drm_mode_destroy_dumb>(0xB4);
}
