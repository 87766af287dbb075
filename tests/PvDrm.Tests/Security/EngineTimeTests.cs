using System.Runtime.InteropServices;
using Akka.TestKit.Xunit2;
using PvDrm.Guest.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// A guest that keeps every engine busy (long GEMMs, or semaphore acquires nobody releases)
/// cannot hold off another guest's small pushbuf. Observed through device state, not the
/// clock: the bystander's fence retires while the attacker's work is still unfinished (its
/// closing SEMAPHORE_RELEASE has not been written). Without preemption the bystander waits for
/// a whole attacker pushbuf (seconds of GEMM) or a whole semaphore timeout (minutes).
/// </summary>
public class EngineTimeTests : TestKit
{
    private static uint Word(GemMapping mapping, ulong offset) =>
        Volatile.Read(ref MemoryMarshal.Cast<byte, uint>(mapping.Bytes(offset, 4))[0]);

    [Fact]
    public async Task A_guest_holding_every_engine_with_long_gemms_does_not_hold_off_another_guests_pushbuf()
    {
        var host = new HostHarness(this, gpu: new SoftGpuOptions { Engines = 2, SemaphoreTimeout = HostHarness.Timeout });
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var evil = await attacker.OpenContextAsync();
        var work = await bystander.OpenContextAsync();

        // One pushbuf per engine, each eight 2048^3 GEMMs (about 137 GFLOP) and then a marker.
        const uint n = 2048;
        const ulong matrix = (ulong)n * n * 4;
        var matrices = await evil.GemNewAsync(4 * matrix);
        var markers = await evil.GemNewAsync(4096);
        var seen = await markers.MapAsync();
        var fences = new List<ulong>();
        for (uint engine = 0; engine < 2; engine++)
        {
            var p = new PushbufBuilder();
            uint m = p.Use(matrices, BufferAccess.ReadWrite), s = p.Use(markers, BufferAccess.Write);
            for (int i = 0; i < 8; i++) p.Commands.Gemm(n, n, n, 1, 0, m, 0, m, matrix, m, (2 + engine) * matrix);
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
        await evil.DisposeAsync(); // its channels close: the GEMMs stop between tiles
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
}
