using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;
using PvDrm.Protocol;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Transport;

/// <summary>
/// The guest proxy on the shared-memory ring on both sides (pvdrm.guest.ring): an application
/// behind it attaches its ring to the proxy, the proxy its own to the host, over real Unix socket
/// files; descriptors still take the sockets, and each side falls back to its socket alone.
/// </summary>
public class ProxyRingTests : TestKit, IDisposable
{
    private const ulong Size = 64 * 1024;
    private readonly TempDir _dir = new();
    private HostHarness _host = null!;
    private UpstreamLink _upstream = null!;
    private string _proxySocket = "";

    /// <summary>A host listening on a socket file and a proxy in front of it, with the given ring settings.</summary>
    private void Start(RingSettings? hostRing = null, ProxyRingSettings? proxyRing = null)
    {
        _host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"], Ring = hostRing ?? new RingSettings() });
        _proxySocket = _dir["guest.sock"];
        var settings = new ProxySettings { Host = $"unix:{_dir["host.sock"]}", Listen = $"unix:{_proxySocket}", Name = "vm1", Ring = proxyRing ?? new ProxyRingSettings { Enabled = true } };
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        _upstream = UpstreamLink.ConnectAsync(settings).WaitAsync(HostHarness.Timeout).GetAwaiter().GetResult();
        Sys.ActorOf(GuestProxy.Props(settings, _upstream, _ => { }));
        AwaitCondition(() => File.Exists(_proxySocket), HostHarness.Timeout, HostHarness.Poll);
    }

    private Task<DrmClient> App(string name = "app") =>
        DrmClient.ConnectAsync($"unix:{_proxySocket}", new DrmClientOptions { Name = name }).WaitAsync(HostHarness.Timeout);

    private static async Task AssertWorksAsync(DrmClient app)
    {
        await using var context = await app.OpenContextAsync();
        var gem = await context.GemNewAsync(Size);
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        var big = await context.GemNewAsync((ulong)data.Length);
        await big.WriteAsync(0, data); // chunked below the rings' slots
        var back = new byte[data.Length];
        await big.ReadAsync(0, back);
        Assert.Equal(data, back);
        Assert.Equal(Size, (await gem.InfoAsync()).Size);
    }

    [Fact]
    public async Task An_application_behind_the_proxy_uses_the_ring_on_both_hops()
    {
        Start();
        await using var app = await App();

        Assert.True(app.OnRing, "the proxy did not take the application's ring");
        Assert.True(_upstream.OnRing, "the host did not take the proxy's ring");
        // Frames fit every ring they cross, so requests keep one order on each hop.
        Assert.True(app.MaxFrame <= new ProxyRingSettings().Shape.SlotSize && _upstream.MaxFrame <= new ProxyRingSettings().Shape.SlotSize);
        await AssertWorksAsync(app);
        Assert.True(app.OnRing && _upstream.OnRing && app.IsConnected);
    }

    [Fact]
    public async Task Mappings_and_prime_descriptors_still_arrive_over_the_sockets_matched_by_id()
    {
        Start();
        await using var app = await App();
        Assert.True(app.OnRing && _upstream.OnRing);
        await using var context = await app.OpenContextAsync();
        var gems = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => context.GemNewAsync(Size)));

        // Interleaved and pipelined: maps (a descriptor from the host, through the proxy) and infos (in the rings).
        var maps = gems.Select(g => g.MapAsync()).ToList();
        var infos = gems.Select(g => g.InfoAsync()).ToList();
        var mappings = await Task.WhenAll(maps);
        var replies = await Task.WhenAll(infos);
        for (int i = 0; i < gems.Length; i++)
        {
            Assert.Equal(gems[i].Handle, replies[i].Handle);
            mappings[i].Bytes(0, 1)[0] = (byte)(i + 1);
        }
        var read = new byte[1];
        await gems[3].ReadAsync(0, read); // through both rings, of the host's memory written through the mapping
        Assert.Equal(4, read[0]);

        using var exported = await gems[5].PrimeExportAsync();
        var imported = await context.PrimeImportAsync(exported);
        await imported.ReadAsync(0, read);
        Assert.Equal(6, read[0]);
    }

    [Fact]
    public async Task A_corrupt_ring_from_one_application_ends_only_it_and_releases_its_contexts()
    {
        Start();
        await using var bystander = await App("bystander");
        Assert.True(bystander.OnRing);
        using var offender = RingGuest.Attached(UnixSocket.Connect(_proxySocket), "offender");
        offender.Put(new OpenContext(0) { Context = 1 });
        Assert.Equal(0, offender.TakeReply().Status);
        offender.Put(new GemNew(1, Native.Gpu.GemDomain.Vram, Size, 0) { Context = 1 });
        Assert.Equal(0, offender.TakeReply().Status);
        _host.AwaitDevice(buffers: 1, extra: 0);

        offender.Poke(RingLayout.RequestTailOffset, 2 + 9u); // 9 requests past its head: more than its 8 slots
        offender.RingDoorbell();

        Assert.True(offender.HostClosed(), "the proxy kept the offender's connection");
        _host.AwaitDevice(buffers: 0, extra: 0); // its context (and buffer) closed on the host
        await AssertWorksAsync(bystander);
        Assert.True(bystander.OnRing && bystander.IsConnected && _upstream.OnRing);
    }

    [Fact]
    public void An_application_ring_is_held_to_the_proxys_limits_and_to_one_per_connection()
    {
        Start();
        var huge = new RingShape(SlotSize: 256 * 1024, RequestSlots: 64, ReplySlots: 64); // 32 MiB, over max-bytes
        using (var raw = RingGuest.Hello(UnixSocket.Connect(_proxySocket), "huge", huge))
        {
            Assert.NotEqual(0u, raw.HelloCapabilities & ProtocolLimits.CapabilityRing);
            var refused = raw.Attach();
            Assert.Equal(-Errno.EINVAL, refused.Status);
            Assert.Contains("pvdrm.guest.ring.max-bytes", refused.Message);
        }
        using var twice = RingGuest.Attached(UnixSocket.Connect(_proxySocket), "twice");
        twice.SendOnSocket(new RingAttach(0), twice.Ring.Memfd);
        Assert.Equal(-Errno.EEXIST, twice.TakeReply().Status); // an answer without a descriptor: in the ring
    }

    [Fact]
    public async Task With_the_proxys_ring_off_applications_and_the_host_link_stay_on_the_sockets()
    {
        Start(proxyRing: new ProxyRingSettings { Enabled = false });
        await using var app = await App();

        Assert.False(app.OnRing);
        Assert.False(_upstream.OnRing);
        await AssertWorksAsync(app);

        using var raw = RingGuest.Hello(UnixSocket.Connect(_proxySocket), "raw");
        Assert.Equal(0u, raw.HelloCapabilities & ProtocolLimits.CapabilityRing);
        var refused = raw.Attach();
        Assert.Equal(-Errno.EOPNOTSUPP, refused.Status);
        Assert.Contains("pvdrm.guest.ring.enabled", refused.Message);
    }

    [Fact]
    public async Task When_the_host_takes_no_ring_the_proxy_stays_on_its_socket_and_applications_keep_theirs()
    {
        Start(hostRing: new RingSettings { Enabled = false });
        await using var app = await App();

        Assert.False(_upstream.OnRing);
        Assert.True(app.OnRing);
        await AssertWorksAsync(app);
        var mapping = await (await (await app.OpenContextAsync()).GemNewAsync(Size)).MapAsync();
        Assert.Equal(0, mapping.Bytes(0, 1)[0]);
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
