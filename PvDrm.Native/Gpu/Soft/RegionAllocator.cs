namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// Places buffers in a fixed range of pages (a guest's shared region): first fit over a sorted
/// list of free extents, merged with their neighbours when freed. Every offset it hands out lies,
/// with its whole length, inside the range; it never hands out a page twice. Not thread-safe: the
/// region locks around it.
/// </summary>
internal sealed class RegionAllocator
{
    private readonly SortedDictionary<ulong, ulong> _free = new(); // offset -> length

    public RegionAllocator(ulong capacity)
    {
        Capacity = capacity;
        if (capacity > 0) _free[0] = capacity;
    }

    public ulong Capacity { get; }

    public ulong Used { get; private set; }

    /// <summary>The offset of <paramref name="length"/> free bytes, now taken; false when no free extent is that long.</summary>
    public bool TryTake(ulong length, out ulong offset)
    {
        offset = 0;
        if (length == 0 || length > Capacity - Used) return false;
        foreach (var (at, free) in _free)
        {
            if (free < length) continue;
            _free.Remove(at);
            if (free > length) _free[at + length] = free - length;
            Used += length;
            offset = at;
            return true;
        }
        return false;
    }

    /// <summary>Gives back what <see cref="TryTake"/> handed out; a range that was not taken throws (a bug, not a guest's doing).</summary>
    public void Return(ulong offset, ulong length)
    {
        if (length == 0 || offset > Capacity || length > Capacity - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Capacity}-byte region");
        ulong end = offset + length, returned = length;
        // The free extent before must end at or before offset; the one after must start at or after end.
        ulong? before = null;
        foreach (var (at, free) in _free)
        {
            if (at >= end) break;
            if (at + free > offset) throw new InvalidOperationException($"[{offset}, +{length}) is already free");
            before = at;
        }
        if (before is { } b && b + _free[b] == offset)
        {
            offset = b;
            length += _free[b];
            _free.Remove(b);
        }
        if (_free.TryGetValue(end, out ulong next))
        {
            _free.Remove(end);
            length += next;
        }
        _free[offset] = length;
        Used -= returned;
    }
}
