using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Cache;

/// <summary>The proxy's GEM cache, shared by its applications.</summary>
public class ProxyCacheTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HostHarness _host;
    private readonly ProxySettings _settings;

    public ProxyCacheTests()
    {
        _host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"] });
        _settings = new ProxySettings
        {
            Host = $"unix:{_dir["host.sock"]}", Listen = $"unix:{_dir["vm.sock"]}", Name = "vm", ControlUnix = _dir["vm-control.sock"],
            Cache = new GemCacheOptions { Enabled = true },
        };
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        var upstream = UpstreamLink.ConnectAsync(_settings).WaitAsync(HostHarness.Timeout).GetAwaiter().GetResult();
        Sys.ActorOf(GuestProxy.Props(_settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(_dir["vm.sock"]) && File.Exists(_dir["vm-control.sock"]), HostHarness.Timeout, HostHarness.Poll);
    }

    private Task<DrmClient> App() => DrmClient.ConnectAsync($"unix:{_dir["vm.sock"]}");

    private ControlProtocol.ProxyStatus Status() =>
        ControlClient.SendAsync(_dir["vm-control.sock"], new ControlProtocol.Request("status"), HostHarness.Timeout).GetAwaiter().GetResult().Proxy!;

    /// <summary>Waits until <paramref name="count"/> pooled objects have the name another context needs to open them.</summary>
    private void AwaitNamed(int count) => AwaitCondition(() => Status().CachedWithName >= count, HostHarness.Timeout, HostHarness.Poll);

    [Fact]
    public async Task Another_applications_buffer_is_zeroed_before_it_is_reused()
    {
        await using var a = await App();
        await using var b = await App();
        var gem = await (await a.OpenContextAsync()).GemNewAsync(64 * 1024);
        await gem.WriteAsync(0, Enumerable.Repeat((byte)0x5E, 64 * 1024).ToArray()); // a secret, never mapped
        await gem.CloseAsync();
        AwaitNamed(1);

        var reused = await (await b.OpenContextAsync()).GemNewAsync(64 * 1024);
        var back = new byte[64 * 1024];
        await reused.ReadAsync(0, back);

        Assert.True(back.All(x => x == 0), "another application's data showed through");
        Assert.Equal(1, _host.Device.GetStats().LiveBuffers); // the same host object, not a new one
        var cache = Status().Cache;
        Assert.Equal((1L, 64L * 1024), (cache.Hits, cache.ScrubbedBytes));
    }

    [Fact]
    public async Task A_buffer_an_application_mapped_is_only_ever_reused_by_that_application()
    {
        await using var a = await App();
        await using var b = await App();
        var ctxA = await a.OpenContextAsync();
        var gem = await ctxA.GemNewAsync(16384);
        (await gem.MapAsync()).Bytes(0, 4).Fill(7);
        await gem.CloseAsync();
        AwaitNamed(1);

        await (await b.OpenContextAsync()).GemNewAsync(16384);
        Assert.Equal(2, _host.Device.GetStats().LiveBuffers); // B got a new buffer, not A's

        long served = _host.GuestStatus("vm").Served;
        var again = await ctxA.GemNewAsync(16384);
        var map = await again.MapAsync(); // answered by the proxy from the descriptor it kept
        Assert.Equal(7, map.Bytes(0, 1)[0]);
        Assert.Equal(served, _host.GuestStatus("vm").Served); // neither GEM_NEW nor GEM_MAP reached the host
    }

    [Fact]
    public async Task A_departed_applications_unmapped_buffers_serve_others_and_its_context_closes_once_they_are_gone()
    {
        var a = await App();
        var ctxA = await a.OpenContextAsync();
        var kept = new List<GemObject>();
        for (int i = 0; i < 2; i++) kept.Add(await ctxA.GemNewAsync(8192));
        var mapped = await ctxA.GemNewAsync(8192);
        await mapped.MapAsync();
        await ctxA.ChannelAllocAsync();
        foreach (var g in kept.Append(mapped)) await g.CloseAsync();
        AwaitNamed(3);
        await a.DisposeAsync();

        // A's mapped buffer and channel are gone; its two unmapped buffers wait in its retired context.
        _host.AwaitDevice(buffers: 2, extra: 0);
        Assert.Equal(1, _host.GuestStatus("vm").Contexts);

        await using var b = await App();
        var ctxB = await b.OpenContextAsync();
        await ctxB.GemNewAsync(8192);
        await ctxB.GemNewAsync(8192);

        AwaitAssert(() => Assert.Equal(1, _host.GuestStatus("vm").Contexts), HostHarness.Timeout, HostHarness.Poll); // A's closed
        Assert.Equal(2, _host.Device.GetStats().LiveBuffers);
    }

    [Fact]
    public async Task Reusing_a_pooled_object_the_gpu_never_touched_costs_the_host_no_request()
    {
        await using var a = await App();
        var ctx = await a.OpenContextAsync();
        var gem = await ctx.GemNewAsync(64 * 1024);
        await gem.CloseAsync();
        AwaitNamed(1); // settled once: named for moves, and in the pool
        long served = _host.GuestStatus("vm").Served;

        for (int round = 0; round < 3; round++)
        {
            var again = await ctx.GemNewAsync(64 * 1024);
            await again.CloseAsync();
            AwaitCondition(() => Status().Cache is { Settling: 0, Objects: 1 }, HostHarness.Timeout, HostHarness.Poll);
        }

        // Neither GEM_NEW, GEM_CLOSE nor a CPU_PREP to settle the object again reached the host.
        Assert.Equal(served, _host.GuestStatus("vm").Served);
        Assert.Equal(3, Status().Cache.Hits);
    }

    [Fact]
    public async Task An_object_closed_with_gpu_work_pending_enters_the_pool_only_after_that_work()
    {
        await using var a = await App();
        var ctx = await a.OpenContextAsync();
        var channel = await ctx.ChannelAllocAsync();
        var gem = await ctx.GemNewAsync(4096);
        var pushbuf = new PushbufBuilder();
        uint index = pushbuf.Use(gem, Native.Gpu.BufferAccess.Write);
        pushbuf.Commands.Fill(index, 0, 4096, 0x11111111);
        await ctx.SubmitAsync(channel, pushbuf);
        long served = _host.GuestStatus("vm").Served;

        await gem.CloseAsync();
        AwaitNamed(1);

        // CPU_PREP (waiting for the FILL) and GEM_EXPORT (the name) were sent before pooling.
        Assert.Equal(served + 2, _host.GuestStatus("vm").Served);
    }

    [Fact]
    public async Task Applications_cannot_import_the_names_the_cache_gives_its_objects()
    {
        await using var a = await App();
        await using var b = await App();
        var gem = await (await a.OpenContextAsync()).GemNewAsync(4096);
        await gem.CloseAsync();
        AwaitNamed(1);

        var ctxB = await b.OpenContextAsync();
        for (uint name = 1; name <= 8; name++)
        {
            var error = await Assert.ThrowsAsync<DrmException>(() => ctxB.ImportAsync(name));
            Assert.Equal(Errno.EACCES, error.Errno); // B exported none of them (pvdrm.guest.sharing = application)
        }
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
