namespace PvDrm.Native.Gpu;

/// <summary>
/// Live objects and work on a device. Status output shows it; tests use it to prove that a
/// departed guest left nothing behind and to observe whether two submissions overlapped.
/// </summary>
public readonly record struct DeviceStats(
    long LiveBuffers,
    long LiveBytes,
    long LiveChannels,
    long Submitted,
    long Completed,
    int Running,
    int PeakRunning);
