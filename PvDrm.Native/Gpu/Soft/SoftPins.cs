namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The buffers the running command uses, pinned mapped in the device's <see cref="SoftMappingCache"/>
/// from its first use until the command finishes, fails or yields (<see cref="Release"/>): a
/// yielded command pins again when it resumes, so a pushbuf between turns holds no mapping.
/// One per engine turn; at most <see cref="SoftGpuOptions.MostPinnedByOneCommand"/> at once.
/// </summary>
internal sealed unsafe class SoftPins
{
    private readonly SoftMappingCache _cache;
    private readonly SoftBuffer[] _buffers;
    private readonly string _owner;
    private readonly SoftBuffer?[] _pinned = new SoftBuffer?[SoftGpuOptions.MostPinnedByOneCommand];
    private int _count;

    public SoftPins(SoftMappingCache cache, SoftBuffer[] buffers, string owner)
    {
        _cache = cache;
        _buffers = buffers;
        _owner = owner;
    }

    /// <summary>The byte at <paramref name="range"/>, its buffer pinned (mapped first if need be) until <see cref="Release"/>.</summary>
    public byte* At(BufferRange range)
    {
        if (_count == _pinned.Length)
            throw new InvalidOperationException($"a command used more than {_pinned.Length} buffers");
        var buffer = _buffers[range.Index];
        byte* first = _cache.Pin(buffer, _owner);
        _pinned[_count++] = buffer;
        return first + range.Offset;
    }

    /// <summary>Unpins what the command pinned; its pointers are not used after this.</summary>
    public void Release()
    {
        for (int i = 0; i < _count; i++)
        {
            _cache.Unpin(_pinned[i]!);
            _pinned[i] = null;
        }
        _count = 0;
    }
}
