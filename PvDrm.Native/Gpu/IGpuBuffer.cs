using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu;

/// <summary>
/// A GEM buffer object on a device. Reference counted: the GEM actor holds one reference and
/// every submission that uses the buffer holds another until its fence signals, so closing a
/// handle while the GPU still reads the buffer is safe.
/// </summary>
public interface IGpuBuffer
{
    /// <summary>The allocated size in bytes (rounded up to whole pages).</summary>
    ulong Size { get; }

    GemDomain Domain { get; }

    /// <summary>
    /// A file descriptor whose pages are the buffer (memfd for SoftGpu, dma-buf for DRM).
    /// Owned by the buffer: pass it on (SCM_RIGHTS duplicates it) while holding a reference.
    /// </summary>
    FileDescriptor Fd { get; }

    /// <summary>
    /// The buffer's offset in its guest's shared region (a VM guest's granted pages), or null:
    /// such a buffer is handed out as that offset, never as <see cref="Fd"/> (the whole region).
    /// </summary>
    ulong? RegionOffset => null;

    /// <summary>Copies bytes out of the buffer; the range must lie inside it.</summary>
    void Read(ulong offset, Span<byte> destination);

    /// <summary>Copies bytes into the buffer; the range must lie inside it.</summary>
    void Write(ulong offset, ReadOnlySpan<byte> source);

    /// <summary>
    /// Zeroes the whole buffer (a SCRUB import). By default in 1 MiB writes; SoftGpu frees the
    /// pages instead, which costs no copy and returns the memory.
    /// </summary>
    void Zero()
    {
        var zeros = new byte[Math.Min(Size, 1 << 20)];
        for (ulong at = 0; at < Size; at += (ulong)zeros.Length)
            Write(at, zeros.AsSpan(0, (int)Math.Min((ulong)zeros.Length, Size - at)));
    }

    /// <summary>
    /// Zeroes the whole buffer for <paramref name="owner"/> (a SCRUB import) without holding the
    /// caller's thread where the device can: SoftGpu runs it on its engines, in chunks charged to
    /// the owner. By default <see cref="Zero"/> on this thread (a blocking device's context runs on
    /// a dispatcher of its own).
    /// </summary>
    Task ZeroAsync(string owner)
    {
        Zero();
        return Task.CompletedTask;
    }

    void AddRef();

    /// <summary>Drops a reference; the last one frees the memory.</summary>
    void Release();
}
