namespace PvDrm.Protocol;

/// <summary>
/// The fake mmap offset of a GEM handle, like DRM's map handles: unique per buffer within one
/// context, with room for any buffer size below 4 GiB after it.
/// </summary>
public static class MapOffset
{
    /// <summary>The map offset of <paramref name="handle"/>: the handle in the upper 32 bits.</summary>
    public static ulong Of(uint handle) => (ulong)handle << 32;
}
