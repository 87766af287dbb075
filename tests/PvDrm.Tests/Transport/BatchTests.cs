using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Registry;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;
using PvDrm.Protocol;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Transport;

/// <summary>
/// <see cref="DrmBatch"/>: several requests in one write, over a real host on the shared-memory
/// ring. Wake-ups are counted as the ring connection's doorbells, not timed.
/// </summary>
public class BatchTests : TestKit
{
    private readonly HostHarness _host;

    public BatchTests()
    {
        // The host's loop sleeps whenever it is idle (no polling), so a doorbell is what wakes it.
        _host = new HostHarness(this, new HostSettings { ListenUnix = null, IoPoll = TimeSpan.Zero });
    }

    /// <summary>A client whose ring connection the test holds, to count its doorbells.</summary>
    private async Task<(DrmClient Client, RingClientConnection Ring)> ConnectAsync(RingShape? shape = null)
    {
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        _host.Host.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(hostEnd, _host.Settings.Connection)));
        var options = new DrmClientOptions { Name = $"batch-{Guid.NewGuid():N}", RingShape = shape ?? new DrmClientOptions().RingShape };
        var ring = new RingClientConnection(new SeqPacketConnection(guestEnd, new ConnectionOptions()), options.RingShape, TimeSpan.Zero);
        var client = await DrmClient.ConnectAsync(ring, options).WaitAsync(HostHarness.Timeout);
        Assert.True(client.OnRing);
        return (client, ring);
    }

    [Fact]
    public async Task A_batch_of_requests_wakes_the_sleeping_host_with_one_doorbell()
    {
        var (client, ring) = await ConnectAsync();
        await using var _ = client;
        var context = await client.OpenContextAsync();
        using var batch = context.Batch();
        const int count = 24; // within the ring's 32 request slots
        for (int i = 0; i < count; i++) batch.GemNew(4096);
        AwaitCondition(() => ring.HostSleeping, HostHarness.Timeout, HostHarness.Poll);
        long before = ring.Doorbells;

        var replies = await batch.FlushAsync().WaitAsync(HostHarness.Timeout);

        // One doorbell for the burst; none when another connection's work had woken the shared loop meanwhile.
        Assert.InRange(ring.Doorbells - before, 0, 1);
        Assert.True(replies.AllSucceeded);
        Assert.Equal(count, replies.Count);
    }

    [Fact]
    public async Task Replies_are_given_in_the_order_the_requests_were_added()
    {
        var (client, _) = await ConnectAsync();
        await using var _c = client;
        var context = await client.OpenContextAsync();
        var channel = await context.ChannelAllocAsync();
        using var batch = context.Batch();
        var sizes = Enumerable.Range(1, 10).Select(i => (ulong)i * 4096).ToArray();
        var news = sizes.Select(size => batch.GemNew(size)).ToArray();
        int submit = batch.Submit(channel, new PushbufBuilder());

        var replies = await batch.FlushAsync().WaitAsync(HostHarness.Timeout);

        var gems = news.Select(replies.Gem).ToArray();
        Assert.Equal(sizes, gems.Select(g => g.Size));
        Assert.Equal(Enumerable.Range(1, sizes.Length).Select(i => (uint)i), gems.Select(g => g.Handle));
        Assert.Equal(1UL, replies.Fence(submit));
        Assert.Equal(2UL, context.NextFence);
    }

    [Fact]
    public async Task A_failure_in_the_middle_of_a_batch_is_that_requests_only()
    {
        var (client, _) = await ConnectAsync();
        await using var _c = client;
        var context = await client.OpenContextAsync();
        using var batch = context.Batch();
        int first = batch.GemNew(4096);
        int bad = batch.Add(new GemInfo(Handle: 999)); // no such object
        int last = batch.GemNew(8192);

        var replies = await batch.FlushAsync().WaitAsync(HostHarness.Timeout);

        Assert.False(replies.AllSucceeded);
        Assert.Equal(-Errno.ENOENT, replies[bad].Status);
        var error = Assert.Throws<DrmException>(() => replies.ThrowIfAnyFailed());
        Assert.Contains($"request {bad} of the batch", error.Message);
        Assert.Equal(4096UL, replies.Gem(first).Size);
        Assert.Equal(8192UL, (await replies.Gem(last).InfoAsync()).Size); // the context goes on
    }

    [Fact]
    public async Task A_batch_larger_than_the_ring_completes_in_order()
    {
        var (client, ring) = await ConnectAsync(new RingShape(SlotSize: 16 * 1024, RequestSlots: 4, ReplySlots: 4));
        await using var _c = client;
        var context = await client.OpenContextAsync();
        using var batch = context.Batch();
        const int count = 300; // 75 times the request ring, and over the host's in-flight limit
        var indexes = Enumerable.Range(0, count).Select(_ => batch.GemNew(4096)).ToArray();
        for (int i = 0; i < 10; i++) batch.Post(new GemInfo((uint)(i + 1))); // reply-less, behind the rest

        var replies = await batch.FlushAsync().WaitAsync(HostHarness.Timeout);

        Assert.Equal(Enumerable.Range(1, count).Select(i => (uint)i), indexes.Select(i => replies.Gem(i).Handle));
        Assert.True(ring.RingAttached);
        Assert.Equal(4096UL, (await context.GemNewAsync(4096)).Size); // no reply-less failure was kept
    }
}
