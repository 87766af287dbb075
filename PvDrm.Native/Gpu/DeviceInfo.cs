namespace PvDrm.Native.Gpu;

/// <summary>What DRM_IOCTL_VERSION reports for a device.</summary>
public sealed record DeviceInfo(string Driver, int Major, int Minor, int Patch, string Date, string Description);
