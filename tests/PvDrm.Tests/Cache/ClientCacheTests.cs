using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Tests.Cache;

/// <summary>DrmClient's cache (per context): hits cost no host round trip.</summary>
public class ClientCacheTests : TestKit
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public ClientCacheTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private static async Task<DrmClient> Connect(HostHarness host, string name, GemCacheOptions cache)
    {
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        host.Host.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(hostEnd, host.Settings.Connection)), Akka.Actor.ActorRefs.NoSender);
        return await DrmClient.ConnectAsync(new SeqPacketConnection(guestEnd, new ConnectionOptions()), new DrmClientOptions { Name = name, Cache = cache });
    }

    /// <summary>GEM_NEW + map + write + close, 1,000 times with mixed sizes; returns the host requests it took.</summary>
    private static async Task<long> Loop(HostHarness host, DrmClient client)
    {
        var ctx = await client.OpenContextAsync();
        long before = host.GuestStatus(client.Name).Served;
        var sizes = new[] { 4096, 65536, 12000, 300_000, 4096 };
        for (int i = 0; i < 1000; i++)
        {
            var gem = await ctx.GemNewAsync((ulong)sizes[i % sizes.Length]);
            var map = await gem.MapAsync();
            map.Bytes(0, 64).Fill((byte)i);
            await gem.CloseAsync();
        }
        return host.GuestStatus(client.Name).Served - before;
    }

    [Fact]
    public async Task A_new_map_write_close_loop_takes_at_least_ten_times_fewer_host_round_trips_with_the_cache()
    {
        var host = new HostHarness(this);
        await using var off = await Connect(host, "off", new GemCacheOptions());
        await using var on = await Connect(host, "on", new GemCacheOptions { Enabled = true });

        long without = await Loop(host, off), with = await Loop(host, on);
        _output.WriteLine($"host requests for 1,000 x (GEM_NEW + map + write + close): {without} without the cache, {with} with it; {on.CacheStats}");

        Assert.Equal(3000, without);
        Assert.True(without >= 10 * with, $"{without} host requests without the cache, {with} with it");
        var stats = on.CacheStats;
        Assert.True(stats.Hits >= 990 && stats.RoundTripsSaved >= 2900, stats.ToString());
    }

    [Fact]
    public async Task Evicted_objects_are_really_freed_on_the_host()
    {
        var host = new HostHarness(this);
        await using var client = await Connect(host, "c", new GemCacheOptions { Enabled = true, MaxObjects = 2 });
        var ctx = await client.OpenContextAsync();
        var gems = new List<GemObject>();
        for (int i = 0; i < 5; i++) gems.Add(await ctx.GemNewAsync((ulong)(i + 1) * 4096));
        foreach (var g in gems) await g.CloseAsync();

        host.AwaitDevice(buffers: 2, extra: 0);
        Assert.Equal(3, client.CacheStats.Evictions);
        await ctx.DisposeAsync();
        host.AwaitDevice(buffers: 0, extra: 0);
    }

    [Fact]
    public async Task At_the_memory_limit_the_cache_is_given_back_and_the_allocation_succeeds()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, MemoryPerGuest = 1 << 20 });
        await using var client = await Connect(host, "c", new GemCacheOptions { Enabled = true });
        var ctx = await client.OpenContextAsync();
        var a = await ctx.GemNewAsync(600 * 1024);
        await a.CloseAsync(); // cached, still charged on the host

        var big = await ctx.GemNewAsync(900 * 1024); // does not fit the cached 600 K, nor the quota beside it

        Assert.Equal(900 * 1024ul, big.Size);
        Assert.Equal(0, client.CacheStats.Objects);
    }

    [Fact]
    public async Task Shared_objects_are_never_cached()
    {
        var host = new HostHarness(this);
        await using var client = await Connect(host, "c", new GemCacheOptions { Enabled = true });
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);
        await gem.ExportAsync();
        await gem.CloseAsync();

        Assert.Equal(0, client.CacheStats.Objects);
        host.AwaitDevice(buffers: 0, extra: 0);
    }
}
