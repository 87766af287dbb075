using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// SoftGpu's mapping cache: least recently used unpinned mappings go first, pinned ones never,
/// a guest past its share evicts its own, the device's cap holds under concurrent pins, and a
/// released buffer's mapping goes with it.
/// </summary>
public class MappingCacheTests
{
    private static SoftBuffer New(Gpu.Soft.SoftGpu gpu) => (SoftBuffer)gpu.CreateBuffer(4096, GemDomain.Vram, 0);

    private static unsafe void Touch(SoftMappingCache cache, SoftBuffer buffer, string owner = "guest")
    {
        cache.Pin(buffer, owner);
        cache.Unpin(buffer);
    }

    [Fact]
    public void The_least_recently_used_mapping_is_unmapped_first()
    {
        using var gpu = Soft.Device(engines: 1);
        var cache = new SoftMappingCache("test", capacity: 3, perOwner: 3);
        SoftBuffer a = New(gpu), b = New(gpu), c = New(gpu), d = New(gpu);
        Touch(cache, a);
        Touch(cache, b);
        Touch(cache, c);
        Touch(cache, a); // a hit: b is now the least recently used

        Touch(cache, d);
        Assert.False(b.IsMapped);
        Assert.True(a.IsMapped && c.IsMapped && d.IsMapped);
        Assert.Equal(3, cache.Count);
        Assert.Equal(1, cache.Evictions);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(4, cache.Misses);
    }

    [Fact]
    public unsafe void Pinned_mappings_are_never_unmapped_and_a_cache_full_of_pins_refuses_naming_the_key()
    {
        using var gpu = Soft.Device(engines: 1);
        var cache = new SoftMappingCache("test", capacity: 3, perOwner: 3);
        SoftBuffer a = New(gpu), b = New(gpu), c = New(gpu), d = New(gpu);
        byte* pa = cache.Pin(a, "guest");
        cache.Pin(b, "guest");
        cache.Pin(c, "guest");
        var full = Assert.Throws<ErrnoException>(() => cache.Pin(d, "guest"));
        Assert.Equal(Errno.EBUSY, full.Errno);
        Assert.Contains("soft-gpu.max-mappings", full.Message);
        Assert.False(d.IsMapped);

        // A pinned pointer stays valid: the engines write through it, GEM_READ sees it.
        *(uint*)pa = 0xfeedu;
        cache.Unpin(b);
        cache.Pin(d, "guest");
        Assert.False(b.IsMapped);
        Assert.Equal(0xfeedu, a.ReadWord(0));
        Assert.False(cache.Drop(a)); // a release or scrub leaves a pinned mapping alone
        cache.Unpin(a);
        Assert.True(cache.Drop(a));
        Assert.False(a.IsMapped);
    }

    [Fact]
    public void A_guest_churning_past_its_share_evicts_its_own_mappings_not_a_bystanders()
    {
        using var gpu = Soft.Device(engines: 1);
        var cache = new SoftMappingCache("test", capacity: 8, perOwner: 4);
        var hot = Enumerable.Range(0, 3).Select(_ => New(gpu)).ToArray();
        foreach (var b in hot) Touch(cache, b, "bystander");

        var churn = Enumerable.Range(0, 100).Select(_ => New(gpu)).ToArray();
        foreach (var b in churn) Touch(cache, b, "attacker");

        Assert.All(hot, b => Assert.True(b.IsMapped));
        Assert.Equal(3, cache.MappedBy("bystander"));
        Assert.Equal(4, cache.MappedBy("attacker"));
        Assert.Equal(96, cache.Evictions);
        Assert.Equal(churn.Skip(96), churn.Where(b => b.IsMapped));
    }

    [Fact]
    public void At_the_devices_cap_the_guest_holding_the_most_gives_one_up()
    {
        using var gpu = Soft.Device(engines: 1);
        var cache = new SoftMappingCache("test", capacity: 6, perOwner: 4);
        var big = Enumerable.Range(0, 4).Select(_ => New(gpu)).ToArray();
        var small = Enumerable.Range(0, 3).Select(_ => New(gpu)).ToArray();
        foreach (var b in big) Touch(cache, b, "big");
        Touch(cache, small[0], "small");
        Touch(cache, small[1], "small");
        Touch(cache, small[2], "small"); // the cap: "big" holds the most and loses its oldest

        Assert.False(big[0].IsMapped);
        Assert.Equal(3, cache.MappedBy("big"));
        Assert.Equal(3, cache.MappedBy("small"));
        Assert.Equal(6, cache.Count);
    }

    [Fact]
    public void Releasing_a_buffer_unmaps_it_and_its_descriptor_pages_go()
    {
        using var gpu = Soft.Device(engines: 1);
        var a = New(gpu);
        Touch(gpu.Mappings, a);
        Assert.True(a.IsMapped);
        Assert.Equal(1, gpu.Mappings.Count);
        a.Release();
        Assert.False(a.IsMapped);
        Assert.Equal(0, gpu.Mappings.Count);
        Assert.Equal(0, gpu.Mappings.MappedBy("guest"));
    }

    [Fact]
    public unsafe void Concurrent_pins_never_pass_the_cap_and_never_lose_a_pinned_mapping()
    {
        using var gpu = Soft.Device(engines: 1);
        var cache = new SoftMappingCache("test", capacity: 12, perOwner: 6);
        var buffers = Enumerable.Range(0, 40).Select(_ => New(gpu)).ToArray();
        int peak = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            for (int i = 0; i < 20_000; i++)
            {
                var b = buffers[random.Next(buffers.Length)];
                uint* p = (uint*)cache.Pin(b, $"guest{t % 2}");
                // Each thread owns the word at its offset: what it writes while pinned must stick.
                uint value = (uint)i;
                Volatile.Write(ref p[t], value);
                Assert.Equal(value, Volatile.Read(ref p[t]));
                int count = cache.Count;
                InterlockedMax(ref peak, count);
                cache.Unpin(b);
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();

        Assert.InRange(peak, 1, 12);
        Assert.InRange(cache.MappedBy("guest0"), 1, 6);
        Assert.InRange(cache.MappedBy("guest1"), 1, 6);
        Assert.True(cache.Evictions > 0);
        foreach (var b in buffers) Assert.True(cache.Drop(b));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task A_gemm_runs_with_no_more_mappings_than_it_pins_and_many_buffers_stay_within_the_cap()
    {
        using var gpu = new Gpu.Soft.SoftGpu("test", new SoftGpuOptions { Engines = 1, MaxMappings = 3, MaxMappingsPerOwner = 3 });
        var channel = gpu.CreateChannel("guest");
        IGpuBuffer a = New(gpu), b = New(gpu), c = New(gpu);
        Soft.Write(a, Enumerable.Repeat(1f, 16 * 16).ToArray());
        Soft.Write(b, Enumerable.Repeat(2f, 16 * 16).ToArray());
        var w = new SoftCommandWriter();
        w.Gemm(16, 16, 16, 1, 0, 0, 0, 1, 0, 2, 0);
        await Soft.Done(channel.Submit(Soft.Inline(w, (a, BufferAccess.Read), (b, BufferAccess.Read), (c, BufferAccess.Write))));
        Assert.All(Soft.ReadFloats(c, 16 * 16), x => Assert.Equal(32f, x));

        var many = Enumerable.Range(0, 50).Select(_ => (IGpuBuffer)New(gpu)).ToArray();
        var fills = new SoftCommandWriter();
        for (uint i = 0; i < many.Length; i++) fills.Fill(i, 0, 4096, i + 1);
        await Soft.Done(channel.Submit(Soft.Inline(fills, many.Select(m => (m, BufferAccess.Write)).ToArray())));
        for (int i = 0; i < many.Length; i++) Assert.Equal((uint)i + 1, Soft.ReadU32(many[i], 4092));
        Assert.Equal(3, gpu.Mappings.Count);
        channel.Dispose();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (int seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }
}
