using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Registry;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Transport;

/// <summary>
/// The ring beside the socket: negotiated in HELLO, refused or disabled (the socket carries on),
/// and descriptors still passed over the socket with their replies matched by request id.
/// </summary>
public class RingTransportTests : TestKit
{
    private const ulong Size = 64 * 1024;

    private static Task<DrmClient> ConnectAsync(HostHarness host, DrmClientOptions options)
    {
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        host.Host.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(hostEnd, host.Settings.Connection)));
        return DrmClient.ConnectAsync(new SeqPacketConnection(guestEnd, new ConnectionOptions()), options).WaitAsync(HostHarness.Timeout);
    }

    private static async Task AssertWorksAsync(DrmClient client)
    {
        await using var context = await client.OpenContextAsync();
        var gem = await context.GemNewAsync(Size);
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        await (await context.GemNewAsync((ulong)data.Length)).WriteAsync(0, data); // chunked below the ring's slots
        Assert.Equal(Size, (await gem.InfoAsync()).Size);
    }

    [Fact]
    public async Task A_local_client_moves_its_frames_into_the_ring_when_the_host_offers_one()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        Assert.True(client.OnRing);
        Assert.True(client.MaxFrame <= new DrmClientOptions().RingShape.SlotSize);
        await AssertWorksAsync(client);
    }

    [Fact]
    public async Task With_the_ring_disabled_the_host_does_not_offer_it_and_refuses_it_naming_the_key()
    {
        var host = new HostHarness(this, new HostSettings { Ring = new RingSettings { Enabled = false } });
        await using var client = await host.ConnectAsync();
        Assert.False(client.OnRing);
        await AssertWorksAsync(client);

        using var raw = RingGuest.Hello(host, "raw");
        Assert.Equal(0u, raw.HelloCapabilities & ProtocolLimits.CapabilityRing);
        var refused = raw.Attach();
        Assert.Equal(-Errno.EOPNOTSUPP, refused.Status);
        Assert.Contains("pvdrm.host.ring.enabled", refused.Message);
    }

    [Fact]
    public async Task A_ring_over_the_hosts_limits_is_refused_and_the_client_stays_on_the_socket()
    {
        var host = new HostHarness(this);
        var huge = new RingShape(SlotSize: 256 * 1024, RequestSlots: 64, ReplySlots: 64); // 32 MiB, over max-bytes
        await using var client = await ConnectAsync(host, new DrmClientOptions { Name = "huge", RingShape = huge });
        Assert.False(client.OnRing);
        await AssertWorksAsync(client);

        using var raw = RingGuest.Hello(host, "raw", huge);
        var refused = raw.Attach();
        Assert.Equal(-Errno.EINVAL, refused.Status);
        Assert.Contains("pvdrm.host.ring.max-bytes", refused.Message);
    }

    [Fact]
    public async Task A_client_that_asks_for_no_ring_stays_on_the_socket()
    {
        var host = new HostHarness(this);
        await using var client = await ConnectAsync(host, new DrmClientOptions { Name = "plain", Ring = false });
        Assert.False(client.OnRing);
        await AssertWorksAsync(client);
    }

    [Fact]
    public void A_second_ring_on_one_connection_is_refused()
    {
        var host = new HostHarness(this);
        using var raw = RingGuest.Attached(host, "twice");
        raw.SendOnSocket(new Requests.RingAttach(0), raw.Ring.Memfd);
        var again = raw.TakeReply(); // an answer without a descriptor: in the ring
        Assert.Equal(-Errno.EEXIST, again.Status);
    }

    [Fact]
    public async Task Descriptors_travel_over_the_socket_while_other_replies_come_in_the_ring_each_matched_by_id()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        Assert.True(client.OnRing);
        await using var context = await client.OpenContextAsync();
        var gems = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => context.GemNewAsync(Size)));

        // Interleaved and pipelined: maps (replies with a descriptor, on the socket) and infos (in the ring).
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
        await gems[3].ReadAsync(0, read); // through the ring, of memory written through the passed descriptor
        Assert.Equal(4, read[0]);

        // A descriptor sent by the client (PRIME_IMPORT) goes over the socket too.
        using var exported = await gems[5].PrimeExportAsync();
        var imported = await context.PrimeImportAsync(exported);
        var back = new byte[1];
        await imported.ReadAsync(0, back);
        Assert.Equal(6, back[0]);
    }
}
