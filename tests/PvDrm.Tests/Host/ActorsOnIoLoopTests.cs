using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Loop;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>
/// pvdrm.host.actors-on-io-loop: a guest's actors run on the I/O loop that reads its ring (no
/// thread hop per request), while long or blocking work stays off that loop.
/// </summary>
public class ActorsOnIoLoopTests : TestKit
{
    private const string LoopThread = "pvdrm-io";

    // reference.conf's dispatcher for devices whose calls may block (the test kit's system lacks it).
    public ActorsOnIoLoopTests()
        : base("pvdrm-device-dispatcher { type = ForkJoinDispatcher, dedicated-thread-pool { thread-count = 2 } }")
    {
    }

    private static LoopProbeDevice Probe(bool mayBlock = false) => new(HostHarness.NewSoftGpu(), mayBlock);

    /// <summary>OPEN_CONTEXT, GEM_NEW and GEM_INFO: the guest's, the context's and the GEM object's actor each call the device once.</summary>
    private static async Task<GemObject> WalkTheActors(DrmClient client)
    {
        var context = await client.OpenContextAsync();
        var gem = await context.GemNewAsync(4096);
        await gem.InfoAsync();
        return gem;
    }

    [Fact]
    public async Task A_request_through_the_guests_actors_runs_on_the_io_loop_that_reads_its_ring()
    {
        var device = Probe();
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync("on-loop");
        Assert.True(client.OnRing);

        await WalkTheActors(client);

        foreach (string call in new[] { "open-session", "create-buffer", "buffer-size" })
        {
            Assert.NotEmpty(device.ThreadsOf(call));
            Assert.All(device.ThreadsOf(call), thread => Assert.Equal(LoopThread, thread));
        }
    }

    [Fact]
    public async Task With_actors_on_io_loop_off_the_actors_run_on_akkas_dispatcher()
    {
        var device = Probe();
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, ActorsOnIoLoop = false }, device: device);
        await using var client = await host.ConnectAsync("off-loop");

        await WalkTheActors(client);

        foreach (string call in new[] { "open-session", "create-buffer", "buffer-size" })
            Assert.DoesNotContain(LoopThread, device.ThreadsOf(call));
    }

    [Fact]
    public async Task A_large_copy_blocked_in_the_device_holds_up_no_other_guest_on_the_loop()
    {
        var device = Probe();
        var host = new HostHarness(this, device: device);
        // On the socket, whose frames carry a chunk as large as the copy (the client's ring slots are smaller).
        await using var writer = await host.ConnectAsync("writer", ring: false);
        await using var other = await host.ConnectAsync("other");
        var big = await WalkTheActors(writer);
        var small = await WalkTheActors(other);
        var large = await (await writer.OpenContextAsync()).GemNewAsync(1 << 20);
        device.HoldWrites(IoLoopDispatcher.LargeCopy);
        device.Forget();

        var write = large.WriteAsync(0, new byte[IoLoopDispatcher.LargeCopy]);
        await Task.WhenAny(write, device.WriteHeld.Task).WaitAsync(HostHarness.Timeout);
        if (write.IsCompleted) await write; // its failure, if it did not reach the device
        Assert.True(device.WriteHeld.Task.IsCompleted, "the large write did not reach the device");

        // The write waits in the device for the test; the loop serves the other guest meanwhile,
        // through its actors (GEM_INFO) and on the loop itself (GET_PARAM), and the writer's small ops.
        var info = await small.InfoAsync().WaitAsync(HostHarness.Timeout);
        Assert.Equal(4096UL, info.Size);
        Assert.Equal(2UL, await other.GetParamAsync(DeviceParam.GraphUnits).WaitAsync(HostHarness.Timeout));
        await big.InfoAsync().WaitAsync(HostHarness.Timeout);
        Assert.False(write.IsCompleted);
        Assert.Contains(LoopThread, device.ThreadsOf("buffer-size"));

        device.ReleaseWrites();
        await write.WaitAsync(HostHarness.Timeout);
        Assert.DoesNotContain(LoopThread, device.ThreadsOf("write"));
        var back = new byte[16];
        await large.ReadAsync(0, back).WaitAsync(HostHarness.Timeout);
    }

    [Fact]
    public async Task Copies_of_one_object_keep_their_order_when_a_large_one_leaves_the_loop()
    {
        var host = new HostHarness(this);
        // On the socket: one stream, so the two writes reach the host in the order sent.
        await using var client = await host.ConnectAsync("ordered", ring: false);
        var gem = await (await client.OpenContextAsync()).GemNewAsync(1 << 20);
        var large = new byte[IoLoopDispatcher.LargeCopy];
        Array.Fill(large, (byte)1);

        // Sent back to back, unanswered: the small write queued behind the large one lands after it.
        var first = gem.WriteAsync(0, large);
        var second = gem.WriteAsync(0, new byte[] { 2, 2 });
        await Task.WhenAll(first, second).WaitAsync(HostHarness.Timeout);

        var back = new byte[4];
        await gem.ReadAsync(0, back);
        Assert.Equal(new byte[] { 2, 2, 1, 1 }, back);
    }

    [Fact]
    public async Task A_device_whose_calls_may_block_keeps_its_contexts_and_objects_off_the_loop()
    {
        var device = Probe(mayBlock: true);
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync("blocking-device");

        await WalkTheActors(client);

        Assert.DoesNotContain(LoopThread, device.ThreadsOf("create-buffer"));
        Assert.DoesNotContain(LoopThread, device.ThreadsOf("buffer-size"));
    }
}
