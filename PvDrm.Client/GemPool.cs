using PvDrm.Native.Gpu;

namespace PvDrm.Client;

/// <summary>What makes a cached object fit a GEM_NEW: the same domain and flags, and at least the size.</summary>
public readonly record struct GemShape(ulong Size, GemDomain Domain, uint Flags);

/// <summary>Cache counters, for status output.</summary>
/// <param name="Hits">GEM_NEWs served from the pool.</param>
/// <param name="Misses">GEM_NEWs that went to the host.</param>
/// <param name="Evictions">Objects freed to keep the pool within its bounds.</param>
/// <param name="ScrubbedBytes">Bytes zeroed before an object went to another application.</param>
/// <param name="RoundTripsSaved">Host round trips the cache saved.</param>
/// <param name="Objects">Objects in the pool now.</param>
/// <param name="Bytes">Bytes in the pool now.</param>
/// <param name="Settling">Closed objects waiting for their GPU work to finish (and their name) before they enter the pool.</param>
public sealed record GemCacheStats(long Hits, long Misses, long Evictions, long ScrubbedBytes, long RoundTripsSaved, int Objects, long Bytes, int Settling = 0);

/// <summary>Bounds of a GEM cache (pvdrm.guest.cache).</summary>
public sealed record GemCacheOptions
{
    /// <summary>Pool closed objects for reuse (off by default).</summary>
    public bool Enabled { get; init; }
    /// <summary>Bytes the pool holds at most; the least recently closed go first.</summary>
    public long MaxBytes { get; init; } = 256L << 20;
    /// <summary>Objects the pool holds at most.</summary>
    public int MaxObjects { get; init; } = 1024;

    /// <summary>A cached object may be at most this many times the size asked for, so a small GEM_NEW does not pin a huge buffer.</summary>
    public int MaxWaste { get; init; } = 2;
}

/// <summary>
/// The pool behind PVDRM's front-end <c>cache</c> option, done safely: closed GEM objects wait
/// here and the next compatible GEM_NEW takes the best fit (the smallest that is large enough,
/// within <see cref="GemCacheOptions.MaxWaste"/>) instead of allocating. Bounded in bytes and
/// objects; the least recently used go first, and whoever adds gets the evicted entries back to
/// free on the host. Thread-safe: many applications share one pool.
/// </summary>
public sealed class GemPool<T>
{
    private readonly object _lock = new();
    private readonly LinkedList<(GemShape Shape, T Item)> _entries = new(); // most recently used first
    private readonly GemCacheOptions _options;
    private long _bytes, _hits, _misses, _evictions, _scrubbed, _saved;
    private int _settling;

    /// <summary>An empty pool bounded by <paramref name="options"/>.</summary>
    public GemPool(GemCacheOptions options) => _options = options;

    /// <summary>False when the cache is off: nothing is ever pooled.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>
    /// Takes the best-fitting compatible entry that <paramref name="eligible"/> accepts (e.g. not one
    /// another application has mapped); counts a hit or a miss.
    /// </summary>
    public bool TryTake(GemShape wanted, Func<T, bool> eligible, out GemShape shape, out T item)
    {
        lock (_lock)
        {
            LinkedListNode<(GemShape Shape, T Item)>? best = null;
            for (var node = _entries.First; node != null; node = node.Next)
            {
                var s = node.Value.Shape;
                if (s.Domain != wanted.Domain || s.Flags != wanted.Flags || s.Size < wanted.Size) continue;
                if (s.Size / (ulong)_options.MaxWaste > wanted.Size || !eligible(node.Value.Item)) continue;
                if (best == null || s.Size < best.Value.Shape.Size) best = node;
            }
            if (best == null)
            {
                _misses++;
                (shape, item) = (default, default!);
                return false;
            }
            _entries.Remove(best);
            _bytes -= (long)best.Value.Shape.Size;
            _hits++;
            (shape, item) = best.Value;
            return true;
        }
    }

    /// <summary>Adds a closed object; returns what had to go to stay within bounds (free those on the host).</summary>
    public List<T> Add(GemShape shape, T item)
    {
        lock (_lock)
        {
            _entries.AddFirst((shape, item));
            _bytes += (long)shape.Size;
            return EvictWhile(() => _bytes > _options.MaxBytes || _entries.Count > _options.MaxObjects);
        }
    }

    /// <summary>Removes (for freeing) the least recently used entries until <paramref name="bytes"/> are out, or all.</summary>
    public List<T> Drain(ulong bytes = ulong.MaxValue)
    {
        lock (_lock)
        {
            long target = bytes >= (ulong)_bytes ? 0 : _bytes - (long)bytes;
            return EvictWhile(() => _bytes > target && _entries.Count > 0);
        }
    }

    /// <summary>Removes and returns the entries <paramref name="match"/> selects (e.g. their context closed).</summary>
    public List<T> RemoveWhere(Func<T, bool> match)
    {
        lock (_lock)
        {
            var removed = new List<T>();
            for (var node = _entries.First; node != null;)
            {
                var next = node.Next;
                if (match(node.Value.Item))
                {
                    _bytes -= (long)node.Value.Shape.Size;
                    _entries.Remove(node);
                    removed.Add(node.Value.Item);
                }
                node = next;
            }
            return removed;
        }
    }

    /// <summary>Pooled entries <paramref name="match"/> selects.</summary>
    public int Count(Func<T, bool> match)
    {
        lock (_lock) return _entries.Count(e => match(e.Item));
    }

    /// <summary>Counts <paramref name="bytes"/> scrubbed before reuse by another application.</summary>
    public void CountScrub(ulong bytes) => Interlocked.Add(ref _scrubbed, (long)bytes);

    /// <summary>Counts host round trips the cache saved.</summary>
    public void CountSaved(int roundTrips) => Interlocked.Add(ref _saved, roundTrips);

    /// <summary>One more (+1) or one fewer (-1) closed object waiting to enter the pool.</summary>
    public void CountSettling(int delta) => Interlocked.Add(ref _settling, delta);

    /// <summary>The counters and contents so far.</summary>
    public GemCacheStats Stats()
    {
        lock (_lock) return new(_hits, _misses, _evictions, Interlocked.Read(ref _scrubbed), Interlocked.Read(ref _saved), _entries.Count, _bytes, Volatile.Read(ref _settling));
    }

    private List<T> EvictWhile(Func<bool> over)
    {
        var evicted = new List<T>();
        while (over() && _entries.Last is { } oldest)
        {
            _entries.RemoveLast();
            _bytes -= (long)oldest.Value.Shape.Size;
            _evictions++;
            evicted.Add(oldest.Value.Item);
        }
        return evicted;
    }
}
