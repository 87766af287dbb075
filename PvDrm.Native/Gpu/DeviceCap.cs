namespace PvDrm.Native.Gpu;

/// <summary>Capabilities for GET_CAP, numbered as DRM_CAP_* in drm.h.</summary>
public static class DeviceCap
{
    public const ulong DumbBuffer = 0x1;
    public const ulong VblankHighCrtc = 0x2;
    public const ulong DumbPreferredDepth = 0x3;
    public const ulong DumbPreferShadow = 0x4;
    public const ulong Prime = 0x5;
    public const ulong TimestampMonotonic = 0x6;
    public const ulong SyncObj = 0x13;

    /// <summary>Bits of the <see cref="Prime"/> value.</summary>
    public const ulong PrimeImport = 0x1;
    public const ulong PrimeExport = 0x2;
}
