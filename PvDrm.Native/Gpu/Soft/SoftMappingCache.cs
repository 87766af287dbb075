using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The host mappings of one SoftGpu's buffers, bounded whatever guests do. A command pins the
/// buffers it uses (mapping them if needed) and unpins them when it ends or yields; past
/// <see cref="SoftGpuOptions.MaxMappings"/> the least recently used unpinned mapping is unmapped.
/// Each mapping counts against the guest whose command made it: a guest at its share
/// (<see cref="SoftGpuOptions.MaxMappingsPerOwner"/>) unmaps its own least recently used first,
/// and at the device's cap the guest holding the most gives one up, so a guest churning through
/// buffers evicts its own mappings, not a bystander's hot set.
///
/// A hit takes no lock: a compare-and-swap on the buffer's pin count and a stamp. Misses and
/// evictions take the cache's lock; an eviction claims a mapping only while nobody pins it, so a
/// pinned mapping stays valid until its pin is released.
/// </summary>
internal sealed unsafe class SoftMappingCache
{
    private readonly object _lock = new();
    private readonly Dictionary<string, List<SoftBuffer>> _byOwner = new(StringComparer.Ordinal);
    private readonly string _device;
    private long _clock, _hits, _misses, _evictions;
    private int _count;

    public SoftMappingCache(string device, int capacity, int perOwner)
    {
        _device = device;
        Capacity = capacity;
        PerOwner = perOwner;
    }

    public int Capacity { get; }

    public int PerOwner { get; }

    /// <summary>Buffers mapped now.</summary>
    public int Count => Volatile.Read(ref _count);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Mappings unmapped to make room (not those of released or scrubbed buffers).</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Mappings charged to <paramref name="owner"/> now.</summary>
    public int MappedBy(string owner)
    {
        lock (_lock) return _byOwner.TryGetValue(owner, out var list) ? list.Count : 0;
    }

    /// <summary>
    /// The buffer's first byte, mapped and pinned for <paramref name="owner"/> until <see cref="Unpin"/>.
    /// Fails with EBUSY naming the key when every mapping is pinned, or with mmap's error.
    /// </summary>
    public byte* Pin(SoftBuffer buffer, string owner)
    {
        // Hit: pin unless an eviction claimed it (-1), then check the mapping outlived the race.
        for (int pins = Volatile.Read(ref buffer.CachePins); pins >= 0 && buffer.CachedMapping != null; pins = Volatile.Read(ref buffer.CachePins))
        {
            if (Interlocked.CompareExchange(ref buffer.CachePins, pins + 1, pins) != pins) continue;
            if (Volatile.Read(ref buffer.CachedMapping) is { } mapping)
            {
                Volatile.Write(ref buffer.CacheStamp, Interlocked.Increment(ref _clock));
                Interlocked.Increment(ref _hits);
                return mapping.Pointer;
            }
            Interlocked.Decrement(ref buffer.CachePins);
            break;
        }
        var fd = buffer.Fd; // made outside the lock: it may be a memfd_create
        lock (_lock)
        {
            // Claims happen only under this lock, so the count is not -1 here.
            Interlocked.Increment(ref buffer.CachePins);
            if (buffer.CachedMapping is { } raced)
            {
                buffer.CacheStamp = Interlocked.Increment(ref _clock);
                Interlocked.Increment(ref _hits);
                return raced.Pointer;
            }
            try
            {
                MakeRoom(owner);
                var mapping = Mapping.Map(fd, buffer.Base, buffer.Size);
                if (!_byOwner.TryGetValue(owner, out var list)) _byOwner[owner] = list = new List<SoftBuffer>();
                (buffer.CacheOwner, buffer.CacheSlot, buffer.CacheStamp) = (owner, list.Count, Interlocked.Increment(ref _clock));
                list.Add(buffer);
                _count++;
                Interlocked.Increment(ref _misses);
                Volatile.Write(ref buffer.CachedMapping, mapping);
                return mapping.Pointer;
            }
            catch
            {
                Interlocked.Decrement(ref buffer.CachePins);
                throw;
            }
        }
    }

    public void Unpin(SoftBuffer buffer) => Interlocked.Decrement(ref buffer.CachePins);

    /// <summary>Unmaps the buffer unless a command pins it (its release, a scrub); true if it is unmapped now.</summary>
    public bool Drop(SoftBuffer buffer)
    {
        if (Volatile.Read(ref buffer.CachedMapping) == null) return true;
        lock (_lock) return buffer.CachedMapping == null || TryEvict(buffer);
    }

    /// <summary>Under the lock: evicts until <paramref name="owner"/> is under its share and the device under its cap.</summary>
    private void MakeRoom(string owner)
    {
        if (_byOwner.TryGetValue(owner, out var own))
            while (own.Count >= PerOwner && EvictLeastRecent(own))
            {
            }
        while (_count >= Capacity)
        {
            // The guest holding the most gives one up; a guest whose mappings are all pinned is skipped.
            bool evicted = false;
            foreach (var list in _byOwner.Values.OrderByDescending(l => l.Count))
                if (evicted = EvictLeastRecent(list)) break;
            if (!evicted)
                ErrnoException.Throw(Errno.EBUSY,
                    $"SoftGpu {_device}: all {Capacity} buffer mappings are in use by running commands (soft-gpu.max-mappings); the command cannot map its buffer");
        }
    }

    /// <summary>Under the lock: unmaps the least recently used unpinned mapping of <paramref name="list"/>; false if all are pinned.</summary>
    private bool EvictLeastRecent(List<SoftBuffer> list)
    {
        while (true)
        {
            SoftBuffer? victim = null;
            foreach (var b in list)
                if (Volatile.Read(ref b.CachePins) == 0 && (victim == null || b.CacheStamp < victim.CacheStamp)) victim = b;
            if (victim == null) return false;
            // A hit may pin it between the look and the claim: then look again.
            if (TryEvict(victim))
            {
                Interlocked.Increment(ref _evictions);
                return true;
            }
        }
    }

    /// <summary>Under the lock: claims the mapping from nobody's pins, unmaps it and forgets it.</summary>
    private bool TryEvict(SoftBuffer buffer)
    {
        if (Interlocked.CompareExchange(ref buffer.CachePins, -1, 0) != 0) return false;
        var mapping = buffer.CachedMapping!;
        Volatile.Write(ref buffer.CachedMapping, null);
        var list = _byOwner[buffer.CacheOwner!];
        var last = list[^1];
        list[buffer.CacheSlot] = last;
        last.CacheSlot = buffer.CacheSlot;
        list.RemoveAt(list.Count - 1);
        if (list.Count == 0) _byOwner.Remove(buffer.CacheOwner!);
        buffer.CacheOwner = null;
        _count--;
        mapping.Dispose();
        Volatile.Write(ref buffer.CachePins, 0);
        return true;
    }
}
