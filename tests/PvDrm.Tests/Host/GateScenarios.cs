using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.TestKit;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Gate;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>
/// What the host tests watch the gate and the device with: the gate's own answer about what it
/// holds, and pushbufs that meet at a semaphore, which only the test releases through a mapping
/// (no request), so nothing depends on a timeout.
/// </summary>
internal static class GateScenarios
{
    public static GateProtocol.State GateState(this TestKitBase kit, HostHarness host) =>
        kit.Sys.ActorSelection(host.Host.Path / "gate").Ask<GateProtocol.State>(GateProtocol.GetState.Instance, HostHarness.Timeout).GetAwaiter().GetResult();

    /// <summary>Until the gate holds <paramref name="waiting"/> requests waiting for their turn.</summary>
    public static void AwaitWaitingAtGate(this TestKitBase kit, HostHarness host, int waiting) =>
        kit.AwaitCondition(() => kit.GateState(host).Waiting == waiting, HostHarness.Timeout, HostHarness.Poll);

    public static HostSettings Sequential(TimeSpan? turnTimeout = null) => new()
    {
        ListenUnix = null,
        Sequential = true,
        SequentialTurn = new SequentialTurnSettings { Timeout = turnTimeout ?? TimeSpan.FromHours(1) }, // turns end by completing
    };

    public static void Release(GemMapping semaphore, uint value) =>
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(semaphore.Bytes(0, 4))[0], value);

    /// <summary>
    /// Sequential mode holds: a pushbuf waiting on a semaphore holds the gate, and a pushbuf that
    /// would release it (on another channel) waits at the gate until the test releases the first.
    /// </summary>
    public static async Task ReleaseWaitsWhileAcquireHolds(this TestKitBase kit, HostHarness host, DrmContext ctx)
    {
        var semaphore = await ctx.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await ctx.GemNewAsync(4096);
        var (first, second) = (await ctx.ChannelAllocAsync(), await ctx.ChannelAllocAsync());

        ulong held = await ctx.SubmitAsync(first, Commands.AcquireThenFill(semaphore, 1, target, 7)); // answered as its turn starts
        var releasing = ctx.SubmitAsync(second, Commands.Release(semaphore, 1));
        kit.AwaitWaitingAtGate(host, 1); // concurrent, it would have run beside the first and freed it
        Assert.False(releasing.IsCompleted);

        Release(release, 1);
        await ctx.FenceWaitAsync(held).WaitAsync(HostHarness.Timeout);
        ulong released = await releasing.WaitAsync(HostHarness.Timeout);
        await ctx.FenceWaitAsync(released).WaitAsync(HostHarness.Timeout);
    }

    /// <summary>
    /// Two pushbufs on two channels meet at a rendezvous: the first releases semaphore 1 and then
    /// waits for semaphore 2; the second waits for 1 and then releases 2. Both succeed only if they
    /// run at the same time (sequential, the first would wait out the device's semaphore timeout).
    /// </summary>
    public static async Task Rendezvous(DrmContext ctx)
    {
        var semaphores = await ctx.GemNewAsync(4096);
        var (first, second) = (await ctx.ChannelAllocAsync(), await ctx.ChannelAllocAsync());
        var one = new PushbufBuilder();
        uint s = one.Use(semaphores, BufferAccess.ReadWrite);
        one.Commands.SemaphoreRelease(s, 0, 1);
        one.Commands.SemaphoreAcquire(s, 4, 1);
        var two = new PushbufBuilder();
        s = two.Use(semaphores, BufferAccess.ReadWrite);
        two.Commands.SemaphoreAcquire(s, 0, 1);
        two.Commands.SemaphoreRelease(s, 4, 1);
        var fences = await Task.WhenAll(ctx.SubmitAsync(first, one), ctx.SubmitAsync(second, two)).WaitAsync(HostHarness.Timeout);
        foreach (ulong fence in fences) await ctx.FenceWaitAsync(fence).WaitAsync(HostHarness.Timeout);
    }
}
