namespace PvDrm.Native.Drm.Uapi;

// drm_mode.h (libdrm-dev: /usr/include/libdrm/drm_mode.h): the dumb-buffer structs only. Their
// ioctl numbers are in drm.h, hence in DrmHeader.

/// <summary>
/// DRM_IOCTL_MODE_CREATE_DUMB: the caller sets height, width, bpp and flags (0); the kernel
/// returns handle, pitch and size (at least height * pitch, page aligned).
/// </summary>
public struct drm_mode_create_dumb
{
    public uint height;
    public uint width;
    public uint bpp;
    public uint flags;
    public uint handle;
    public uint pitch;
    public ulong size;
}

/// <summary>DRM_IOCTL_MODE_MAP_DUMB: returns the fake offset to mmap the device file at.</summary>
public struct drm_mode_map_dumb
{
    public uint handle;
    public uint pad;
    public ulong offset;
}

/// <summary>DRM_IOCTL_MODE_DESTROY_DUMB.</summary>
public struct drm_mode_destroy_dumb
{
    public uint handle;
}
