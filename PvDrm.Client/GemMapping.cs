using System.Runtime.InteropServices;
using PvDrm.Native.Memory;

namespace PvDrm.Client;

/// <summary>
/// A GEM buffer mapped into this process: writes here are what the GPU reads. Owned by its
/// <see cref="GemObject"/>: valid until the object is closed or unmapped (like an mmap of a DRM
/// buffer, which outlives nothing it maps).
/// </summary>
public sealed class GemMapping
{
    private readonly Mapping _mapping;

    internal GemMapping(Mapping mapping)
    {
        _mapping = mapping;
    }

    /// <summary>Bytes mapped.</summary>
    public ulong Length => _mapping.Length;

    /// <summary><paramref name="length"/> bytes of the buffer from <paramref name="offset"/>, read and written in place.</summary>
    public Span<byte> Bytes(ulong offset, int length) => _mapping.Slice(offset, length);

    /// <summary>The buffer as float32s from <paramref name="offset"/> (bytes).</summary>
    public Span<float> Floats(ulong offset, int count) => MemoryMarshal.Cast<byte, float>(_mapping.Slice(offset, checked(count * sizeof(float))));

    internal void Unmap() => _mapping.Dispose();
}
