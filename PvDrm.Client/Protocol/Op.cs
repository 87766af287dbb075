namespace PvDrm.Protocol;

/// <summary>Operation codes on the wire. Groups follow PVDRM's boundary (DRM core + nouveau ABI).</summary>
public enum Op : ushort
{
    // session
    /// <summary>Introduces the guest (name, token, frame size); the first request of a connection.</summary>
    Hello = 0x0001,
    /// <summary>Opens a context (one DRM file on the host).</summary>
    OpenContext = 0x0002,
    /// <summary>Closes a context and everything in it.</summary>
    CloseContext = 0x0003,
    /// <summary>Attaches a shared-memory ring (PROTOCOL.md); its memfd travels with the frame.</summary>
    RingAttach = 0x0004,

    // device
    /// <summary>DRM_IOCTL_VERSION.</summary>
    GetVersion = 0x0010,
    /// <summary>A nouveau device parameter.</summary>
    GetParam = 0x0011,
    /// <summary>DRM_IOCTL_GET_CAP.</summary>
    GetCap = 0x0012,

    // GEM objects
    /// <summary>Creates a GEM object under a handle the guest chose.</summary>
    GemNew = 0x0020,
    /// <summary>An object's size, domain and map offset.</summary>
    GemInfo = 0x0021,
    /// <summary>Releases a handle.</summary>
    GemClose = 0x0022,
    /// <summary>Passes the object's memory as a descriptor to map.</summary>
    GemMap = 0x0023,
    /// <summary>Reads bytes of an object.</summary>
    GemRead = 0x0024,
    /// <summary>Writes bytes into an object.</summary>
    GemWrite = 0x0025,
    /// <summary>Waits for the GPU to be done with an object before CPU access.</summary>
    CpuPrep = 0x0026,
    /// <summary>Ends CPU access.</summary>
    CpuFini = 0x0027,

    // sharing
    /// <summary>Gives an object a guest-wide global name (flink).</summary>
    GemExport = 0x0030,
    /// <summary>Opens an object by its global name.</summary>
    GemImport = 0x0031,
    /// <summary>Passes an object as a PRIME descriptor.</summary>
    PrimeExport = 0x0032,
    /// <summary>Opens an object from a PRIME descriptor.</summary>
    PrimeImport = 0x0033,

    // channels
    /// <summary>Allocates a channel under an id the guest chose.</summary>
    ChannelAlloc = 0x0040,
    /// <summary>Frees a channel.</summary>
    ChannelFree = 0x0041,
    /// <summary>Submits a command buffer on a channel; the reply carries its fence.</summary>
    Pushbuf = 0x0042,

    // fences
    /// <summary>Waits for a context's fence.</summary>
    FenceWait = 0x0050,

    // host -> guest events
    /// <summary>Event: the host ends the session, with the reason.</summary>
    Shutdown = 0x00F0,
    /// <summary>Event: the guest is at its memory limit; cached buffers are asked back.</summary>
    Reclaim = 0x00F1,
}
