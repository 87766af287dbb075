using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Vm;

/// <summary>
/// A VM guest's applications behind its proxy, without a VM: the proxy is given the host's region
/// file where a VM has the ivshmem BAR (the same pages). An unmodified DrmClient application maps
/// its buffers from the region (zero copy); a host range outside the proxy's region is refused.
/// </summary>
public sealed class RegionProxyTests : TestKit, IDisposable
{
    private const string Key = "pvdrm.guest.shared-memory";
    private readonly TempDir _dir = new();
    private readonly SoftRegion _region;
    private readonly HostHarness _host;

    public RegionProxyTests()
    {
        var gpu = HostHarness.NewSoftGpu();
        _region = SoftRegion.Create(_dir["vm1.region"], 1 << 20, "pvdrm.host.guests.vm1.shared-memory");
        gpu.AddRegion("vm1", _region);
        _host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"] }, device: gpu);
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
    }

    /// <summary>An application of guest vm1, connected to a proxy whose <c>pvdrm.guest.shared-memory</c> is <paramref name="sharedMemory"/>.</summary>
    private async Task<DrmClient> AppBehindProxy(string sharedMemory)
    {
        var settings = new ProxySettings { Host = $"unix:{_dir["host.sock"]}", Listen = $"unix:{_dir["guest.sock"]}", Name = "vm1", SharedMemory = sharedMemory };
        var upstream = await UpstreamLink.ConnectAsync(settings).WaitAsync(HostHarness.Timeout);
        Sys.ActorOf(GuestProxy.Props(settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(_dir["guest.sock"]), HostHarness.Timeout, HostHarness.Poll);
        return await DrmClient.ConnectAsync($"unix:{_dir["guest.sock"]}", new DrmClientOptions { Name = "app" });
    }

    [Fact]
    public async Task An_application_maps_its_region_buffer_and_the_host_computes_on_what_it_wrote_there()
    {
        await using var app = await AppBehindProxy(_region.Path);
        await using var ctx = await app.OpenContextAsync();
        await ctx.GemNewAsync(8192);
        var gem = await ctx.GemNewAsync(4096); // at 8192 in the region
        var channel = await ctx.ChannelAllocAsync();

        var map = await gem.MapAsync();
        map.Floats(0, 4).Fill(1f);

        // No GEM_WRITE carried them: the bytes are the region's, at the buffer's offset.
        var stored = new byte[4];
        using (var file = new FileStream(_region.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            file.Position = 8192;
            file.ReadExactly(stored);
        }
        Assert.Equal(1f, BitConverter.ToSingle(stored));

        var pushbuf = new PushbufBuilder();
        uint bo = pushbuf.Use(gem, BufferAccess.ReadWrite);
        pushbuf.Commands.Saxpy(2f, 4, bo, 0, bo, 0);
        await ctx.SubmitAsync(channel, pushbuf);
        await gem.CpuPrepAsync();
        Assert.Equal(3f, map.Floats(0, 1)[0]);
        var hostView = new byte[4];
        await gem.ReadAsync(0, hostView);
        Assert.Equal(3f, BitConverter.ToSingle(hostView));
    }

    [Fact]
    public async Task A_gemm_behind_the_proxy_runs_on_mapped_region_pages()
    {
        await using var app = await AppBehindProxy(_region.Path);

        var result = await new GemmWorkload { Size = 64, Iterations = 2 }.RunAsync(app);

        Assert.True(result.Verified, result.Error);
        Assert.Equal("map", result.DataPath);
    }

    [Fact]
    public async Task A_host_range_outside_the_proxys_region_is_refused_with_EINVAL_naming_it()
    {
        // The proxy's region is smaller than the host's: the second buffer (8192 bytes at 8192) runs past it.
        string small = _dir["small.region"];
        using (var file = new FileStream(small, FileMode.CreateNew)) file.SetLength(12288);
        await using var app = await AppBehindProxy(small);
        var ctx = await app.OpenContextAsync();
        var inside = await ctx.GemNewAsync(8192);
        var outside = await ctx.GemNewAsync(8192);

        await inside.MapAsync();
        var refused = await Assert.ThrowsAsync<DrmException>(outside.MapAsync);

        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Contains("8192 bytes at 8192", refused.Message);
        Assert.Contains(Key, refused.Message);
    }

    [Fact]
    public async Task Without_a_region_the_proxy_answers_EOPNOTSUPP_naming_the_setting()
    {
        await using var app = await AppBehindProxy("");
        var gem = await (await app.OpenContextAsync()).GemNewAsync(4096);

        var refused = await Assert.ThrowsAsync<DrmException>(gem.MapAsync);

        Assert.Equal(Errno.EOPNOTSUPP, refused.Errno);
        Assert.Contains(Key, refused.Message);
    }

    public new void Dispose()
    {
        base.Dispose();
        _host.Device.Dispose();
        _dir.Dispose();
    }
}
