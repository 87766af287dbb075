using FsCheck;
using FsCheck.Fluent;
using PvDrm.Actors.Guest;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using Gen = FsCheck.Fluent.Gen;

namespace PvDrm.Tests.Cache;

public class GemPoolTests
{
    private static readonly GemCacheOptions On = new() { Enabled = true, MaxBytes = 1 << 30, MaxObjects = 100 };

    private static GemShape Vram(ulong size) => new(size, GemDomain.Vram, 0);

    [Fact]
    public void The_smallest_compatible_object_that_is_large_enough_is_taken()
    {
        var pool = new GemPool<string>(On);
        pool.Add(Vram(8192), "8K");
        pool.Add(Vram(65536), "64K");
        pool.Add(Vram(16384), "16K");
        pool.Add(new GemShape(16384, GemDomain.Gart, 0), "gart");
        pool.Add(new GemShape(16384, GemDomain.Vram, 1), "flagged");

        Assert.True(pool.TryTake(Vram(10000), _ => true, out _, out var item));
        Assert.Equal("16K", item);
        Assert.True(pool.TryTake(Vram(40000), _ => true, out _, out item));
        Assert.Equal("64K", item);
        Assert.True(pool.TryTake(new GemShape(4096, GemDomain.Gart, 0), _ => true, out _, out item) == false, "16K is more than twice 4K");
        Assert.True(pool.TryTake(new GemShape(16384, GemDomain.Vram, 1), _ => true, out _, out item));
        Assert.Equal("flagged", item);
        var stats = pool.Stats();
        Assert.Equal((3, 1), (stats.Hits, stats.Misses));
    }

    [Fact]
    public void Only_entries_the_caller_may_have_are_taken()
    {
        var pool = new GemPool<string>(On);
        pool.Add(Vram(8192), "theirs");
        Assert.False(pool.TryTake(Vram(8192), e => e != "theirs", out _, out _));
        Assert.Equal(1, pool.Stats().Objects);
    }

    [Fact]
    public void The_pool_stays_within_its_bounds_by_evicting_the_least_recently_used()
    {
        var pool = new GemPool<int>(On with { MaxObjects = 3, MaxBytes = 40960 });
        for (int i = 0; i < 3; i++) Assert.Empty(pool.Add(Vram(8192), i));
        Assert.Equal(new[] { 0 }, pool.Add(Vram(8192), 3));        // too many objects
        Assert.Equal(new[] { 1 }, pool.Add(Vram(20480), 4));       // too many bytes: the oldest goes
        Assert.Equal((3, 36864L), (pool.Stats().Objects, pool.Stats().Bytes));
        Assert.Equal(new[] { 2, 3, 4 }, pool.Drain());
        Assert.Equal(5, pool.Stats().Evictions);
    }

    [Fact]
    public void Concurrent_takes_and_adds_never_hand_out_an_object_twice_or_lose_one()
    {
        var ops = Gen.ListOf(Gen.Choose(1, 16)).Select(l => l.ToArray());
        Prop.ForAll(ops.ToArbitrary(), sizes =>
        {
            var pool = new GemPool<int>(On with { MaxObjects = 8 });
            var held = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();
            int next = 0, evicted = 0;
            Parallel.For(0, 8, worker =>
            {
                foreach (int pages in sizes)
                {
                    var shape = Vram((ulong)pages * 4096);
                    if (pool.TryTake(shape, _ => true, out _, out int item))
                        Assert.True(held.TryAdd(item, 0), $"object {item} was handed out twice");
                    else item = Interlocked.Increment(ref next);
                    held.TryRemove(item, out _);
                    Interlocked.Add(ref evicted, pool.Add(shape, item).Count);
                }
            });
            var stats = pool.Stats();
            // Every object ever made is either pooled or was evicted: nothing vanished.
            return stats.Objects + evicted == next && stats.Objects <= 8 && held.IsEmpty;
        }).QuickCheckThrowOnFailure();
    }
}
