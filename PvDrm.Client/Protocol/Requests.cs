using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>
/// Every request a guest can send, grouped as in PROTOCOL.md. Each type's body layout is the
/// order of its writes; <see cref="OpTable"/> holds the matching readers and their checks.
/// </summary>
public static partial class Requests
{
    private static void WriteHandle(ref WireWriter w, uint handle)
    {
        w.U32(handle);
        w.U32(0);
    }
}

/// <summary>One entry of a pushbuf's buffer list: a guest handle and how the commands use it.</summary>
public readonly record struct PushbufBuffer(uint Handle, BufferAccess Access);

/// <summary>CPU_PREP flags, numbered as nouveau's NOUVEAU_GEM_CPU_PREP_*.</summary>
[Flags]
public enum CpuPrepFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>Answer at once (EBUSY when not ready) instead of waiting.</summary>
    NoWait = 1,
    /// <summary>The CPU will write (wait for GPU reads too).</summary>
    Write = 4,
}

/// <summary>GEM_IMPORT's flags.</summary>
[Flags]
public enum GemImportFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Zero the buffer before opening it.</summary>
    Scrub = 1,
}

/// <summary>FENCE_WAIT's flags.</summary>
[Flags]
public enum FenceWaitFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>Answer at once (EBUSY when not ready) instead of waiting.</summary>
    NoWait = 1,
}
