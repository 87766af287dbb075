using System.Runtime.InteropServices;
using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// A guest that keeps every engine busy (long GEMMs, or semaphore acquires nobody releases)
/// cannot hold off another guest's small pushbuf. Observed through device state, not the
/// clock: the bystander's fence retires while the attacker's work is still unfinished (its
/// closing SEMAPHORE_RELEASE has not been written). Without preemption the bystander waits for
/// a whole attacker GEMM (seconds, one command) or a whole semaphore timeout (minutes).
/// </summary>
public class EngineTimeTests : TestKit
{
    private static uint Word(GemMapping mapping, ulong offset) =>
        Volatile.Read(ref MemoryMarshal.Cast<byte, uint>(mapping.Bytes(offset, 4))[0]);

    [Fact]
    public async Task A_guest_holding_every_engine_with_huge_gemms_does_not_hold_off_another_guests_pushbuf()
    {
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 2, SemaphoreTimeout = HostHarness.Timeout });
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();

        // One pushbuf per engine, each a single 4096x4096x2048 GEMM (69 GFLOP, one command) and then a marker.
        const uint n = 4096, k = 2048;
        const ulong ab = (ulong)n * k * 4, c = (ulong)n * n * 4;
        var matrices = await evil.GemNewAsync(2 * ab + 2 * c);
        var markers = await evil.GemNewAsync(4096);
        var seen = await markers.MapAsync();
        var fences = new List<ulong>();
        for (uint engine = 0; engine < 2; engine++)
        {
            var p = new PushbufBuilder();
            uint m = p.Use(matrices, BufferAccess.ReadWrite), s = p.Use(markers, BufferAccess.Write);
            p.Commands.Gemm(n, n, k, 1, 0, m, 0, m, ab, m, 2 * ab + engine * c);
            p.Commands.SemaphoreRelease(s, engine * 4, 1);
            fences.Add(await evil.SubmitAsync(await evil.ChannelAllocAsync(), p));
        }
        AwaitCondition(() => host.Device.GetStats().Running == 2, HostHarness.Timeout, HostHarness.Poll);

        var target = await work.GemNewAsync(4096);
        ulong mine = await work.SubmitAsync(await work.ChannelAllocAsync(), Commands.Fill(target, 0x5a5a5a5a));
        await work.FenceWaitAsync(mine).WaitAsync(HostHarness.Timeout);

        Assert.Equal(0u, Word(seen, 0));
        Assert.Equal(0u, Word(seen, 4));
        var back = new byte[4096];
        await target.ReadAsync(0, back);
        Assert.All(back, b => Assert.Equal(0x5a, b));
        await evil.DisposeAsync(); // its channels close: the GEMMs stop between blocks
        AwaitCondition(() => host.Device.GetStats().Running == 0, HostHarness.Timeout, HostHarness.Poll);
    }

    [Fact]
    public async Task Semaphore_acquires_nobody_releases_do_not_hold_the_only_engine()
    {
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 1, SemaphoreTimeout = TimeSpan.FromMinutes(10) });
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();

        var semaphore = await evil.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var targets = new List<GemObject>();
        var waits = new List<Task>();
        for (int i = 0; i < 4; i++)
        {
            var t = await evil.GemNewAsync(4096);
            targets.Add(t);
            ulong fence = await evil.SubmitAsync(await evil.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, t, 7));
            waits.Add(evil.FenceWaitAsync(fence));
        }
        AwaitCondition(() => host.Device.GetStats().Submitted == 4, HostHarness.Timeout, HostHarness.Poll);

        var target = await work.GemNewAsync(4096);
        ulong mine = await work.SubmitAsync(await work.ChannelAllocAsync(), Commands.Fill(target, 0x11111111));
        await work.FenceWaitAsync(mine).WaitAsync(HostHarness.Timeout);

        // The attacker's acquires still wait, parked; released, every one of them goes on.
        Assert.All(waits, w => Assert.False(w.IsCompleted));
        Assert.Equal(0L, host.Device.GetStats().Completed - 1);
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        await Task.WhenAll(waits).WaitAsync(HostHarness.Timeout);
        var back = new byte[4];
        foreach (var t in targets)
        {
            await t.ReadAsync(0, back);
            Assert.Equal(7u, BitConverter.ToUInt32(back));
        }
    }

    [Fact]
    public async Task Queued_commands_cost_their_words_and_are_refused_past_the_guests_budget()
    {
        var host = new HostHarness(this, gpu: new SoftGpuOptions
        {
            Engines = 1,
            SemaphoreTimeout = HostHarness.Timeout,
            MaxQueuedCommandBytesPerOwner = 4 << 20,
        });
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();

        // A megabyte of NOP words in a buffer, queued again and again behind a wait that holds the channel.
        var nops = await evil.GemNewAsync(1 << 20);
        var words = MemoryMarshal.Cast<byte, uint>((await nops.MapAsync()).Bytes(0, 1 << 20));
        words.Fill(SoftOpcodes.Header(SoftOpcode.Nop));
        var semaphore = await evil.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var channel = await evil.ChannelAllocAsync();
        var fences = new List<ulong> { await evil.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, semaphore, 1)) };
        var megabyte = new PvDrm.Protocol.Requests.Pushbuf(channel.Id, [new(nops.Handle, BufferAccess.Read)], [new PushEntry(0, 0, 1 << 20)], ReadOnlyMemory<byte>.Empty);
        for (int i = 0; i < 3; i++) fences.Add((await evil.Send(megabyte)).Read<PvDrm.Protocol.Replies.Fence>().Number);

        var refused = await Assert.ThrowsAsync<DrmException>(() => evil.Send(megabyte));
        Assert.Equal(Errno.EAGAIN, refused.Errno);
        Assert.Contains("soft-gpu.max-queued-commands-per-guest", refused.Message);

        // The bystander is not charged for the attacker's queue, and its work runs meanwhile.
        var target = await work.GemNewAsync(4096);
        await work.FenceWaitAsync(await work.SubmitAsync(await work.ChannelAllocAsync(), Commands.Fill(target, 3))).WaitAsync(HostHarness.Timeout);
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        foreach (var f in fences) await evil.FenceWaitAsync(f).WaitAsync(HostHarness.Timeout);
        await evil.Send(megabyte); // the budget came back with the fences
    }
}
