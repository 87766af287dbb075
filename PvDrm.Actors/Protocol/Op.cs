namespace PvDrm.Actors.Protocol;

/// <summary>Operation codes on the wire. Groups follow PVDRM's boundary (DRM core + nouveau ABI).</summary>
public enum Op : ushort
{
    // session
    Hello = 0x0001,
    OpenContext = 0x0002,
    CloseContext = 0x0003,
    RingAttach = 0x0004,

    // device
    GetVersion = 0x0010,
    GetParam = 0x0011,
    GetCap = 0x0012,

    // GEM objects
    GemNew = 0x0020,
    GemInfo = 0x0021,
    GemClose = 0x0022,
    GemMap = 0x0023,
    GemRead = 0x0024,
    GemWrite = 0x0025,
    CpuPrep = 0x0026,
    CpuFini = 0x0027,

    // sharing
    GemExport = 0x0030,
    GemImport = 0x0031,
    PrimeExport = 0x0032,
    PrimeImport = 0x0033,

    // channels
    ChannelAlloc = 0x0040,
    ChannelFree = 0x0041,
    Pushbuf = 0x0042,

    // fences
    FenceWait = 0x0050,

    // host -> guest events
    Shutdown = 0x00F0,
    Reclaim = 0x00F1,
}
