namespace PvDrm.Native.Gpu;

/// <summary>Driver parameters for GET_PARAM, numbered as nouveau's NOUVEAU_GETPARAM_*.</summary>
public static class DeviceParam
{
    public const ulong PciVendor = 3;
    public const ulong PciDevice = 4;
    public const ulong BusType = 5;
    public const ulong FbSize = 8;
    public const ulong AgpSize = 9;
    public const ulong ChipsetId = 11;
    public const ulong VmVaddrBase = 12;
    public const ulong GraphUnits = 13;
    public const ulong PtimerTime = 14;
    public const ulong HasBoUsage = 15;
    public const ulong HasPageflip = 16;
}
