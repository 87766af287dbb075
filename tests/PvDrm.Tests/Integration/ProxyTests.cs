using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Integration;

/// <summary>Host and guest proxy over real Unix socket files, in one test process.</summary>
public class ProxyTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly HostHarness _host;
    private readonly string _proxySocket;

    public ProxyTests()
    {
        _host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"] });
        _proxySocket = _dir["guest.sock"];
        // Guest-wide name sharing: applications here share buffers by name (the default keeps names per application).
        var settings = new ProxySettings { Host = $"unix:{_dir["host.sock"]}", Listen = $"unix:{_proxySocket}", Name = "vm1", Sharing = NameSharing.Guest };
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        var upstream = UpstreamLink.ConnectAsync(settings).WaitAsync(HostHarness.Timeout).GetAwaiter().GetResult();
        Sys.ActorOf(GuestProxy.Props(settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(_proxySocket), HostHarness.Timeout, HostHarness.Poll);
    }

    private Task<DrmClient> App() => DrmClient.ConnectAsync($"unix:{_proxySocket}", new DrmClientOptions { Name = "app" });

    [Fact]
    public async Task A_workload_through_the_proxy_maps_the_hosts_pages_and_verifies()
    {
        await using var app = await App();
        var result = await new GemmWorkload { Size = 64, Iterations = 2 }.RunAsync(app);

        Assert.True(result.Verified, result.Error);
        Assert.Equal("map", result.DataPath);
    }

    [Fact]
    public async Task The_readme_example_prints_3()
    {
        await using var client = await DrmClient.ConnectAsync($"unix:{_proxySocket}");
        await using var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(1 << 20);
        var channel = await ctx.ChannelAllocAsync();
        var map = await gem.MapAsync();
        map.Floats(0, 4).Fill(1f);

        var pushbuf = new PushbufBuilder();
        uint bo = pushbuf.Use(gem, BufferAccess.ReadWrite);
        pushbuf.Commands.Saxpy(2f, 4, bo, 0, bo, 0);
        ulong fence = await ctx.SubmitAsync(channel, pushbuf);
        await gem.CpuPrepAsync();

        Assert.Equal(1ul, fence);
        Assert.Equal(3f, map.Floats(0, 1)[0]);
    }

    [Fact]
    public async Task The_copy_path_works_through_the_proxy_too()
    {
        await using var app = await App();
        var result = await new GemmWorkload { Size = 100, Iterations = 1, ForceCopy = true }.RunAsync(app);

        Assert.True(result.Verified, result.Error);
        Assert.Equal("copy", result.DataPath);
    }

    [Fact]
    public async Task Two_applications_see_their_own_handles_and_never_each_others()
    {
        await using var a = await App();
        await using var b = await App();
        var ctxA = await a.OpenContextAsync();
        var ctxB = await b.OpenContextAsync();
        var gemA = await ctxA.GemNewAsync(4096);
        await gemA.WriteAsync(0, new byte[] { 42 });
        var gemB = await ctxB.GemNewAsync(8192);

        // Both chose handle 1 and context 1; the proxy gives them different host objects.
        Assert.Equal(gemA.Handle, gemB.Handle);
        Assert.Equal((gemA.Handle, 4096ul), ((await gemA.InfoAsync()).Handle, (await gemA.InfoAsync()).Size));
        Assert.Equal(8192ul, (await gemB.InfoAsync()).Size);
        var back = new byte[1];
        await gemB.ReadAsync(0, back);
        Assert.Equal(0, back[0]);

        var error = await Assert.ThrowsAsync<DrmException>(() => ctxB.Send(new PvDrm.Protocol.Requests.GemInfo(7)));
        Assert.Equal(Errno.ENOENT, error.Errno);
    }

    [Fact]
    public async Task Two_applications_behind_one_proxy_share_a_buffer_by_name_and_by_descriptor()
    {
        await using var producer = await App();
        await using var consumer = await App();
        var gem = await (await producer.OpenContextAsync()).GemNewAsync(4096);
        await gem.WriteAsync(0, new byte[] { 9, 8, 7 });
        var ctx = await consumer.OpenContextAsync();

        var byName = await ctx.ImportAsync(await gem.ExportAsync());
        using var fd = await gem.PrimeExportAsync();
        var byFd = await ctx.PrimeImportAsync(fd);

        foreach (var opened in new[] { byName, byFd })
        {
            var back = new byte[3];
            await opened.ReadAsync(0, back);
            Assert.Equal(new byte[] { 9, 8, 7 }, back);
        }
        Assert.NotEqual(byName.Handle, byFd.Handle);
        Assert.Equal(1, _host.Device.GetStats().LiveBuffers);
    }

    [Fact]
    public async Task An_application_that_leaves_has_its_host_objects_released()
    {
        var app = await App();
        var ctx = await app.OpenContextAsync();
        for (int i = 0; i < 5; i++) await ctx.GemNewAsync(4096);
        await ctx.ChannelAllocAsync();
        AwaitAssert(() => Assert.Equal(5, _host.Device.GetStats().LiveBuffers), HostHarness.Timeout, HostHarness.Poll);

        await app.DisposeAsync();

        _host.AwaitDeviceEmpty();
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
