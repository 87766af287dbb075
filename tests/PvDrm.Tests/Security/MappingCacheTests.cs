using System.Runtime.InteropServices;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// The host's map count is bounded by its mapping cache, not by how many buffers guests touch:
/// a guest touching far more small buffers than the cap, within its quota, through pushbufs and
/// GEM_WRITE/GEM_READ, leaves at most the cap mapped, and its churn evicts only its own mappings,
/// so a bystander's GEMM keeps its buffers mapped and its results right.
/// </summary>
public class MappingCacheTests : TestKit
{
    private const int Cap = 16, Share = 8, Buffers = 400;

    /// <summary>C = A·B for 64×64 matrices of ones and twos: every element of C is 128.</summary>
    private static async Task VerifiedGemm(DrmContext ctx, GemChannel channel, GemObject a, GemObject b, GemObject c)
    {
        var p = new PushbufBuilder();
        uint ia = p.Use(a, BufferAccess.Read), ib = p.Use(b, BufferAccess.Read), ic = p.Use(c, BufferAccess.Write);
        p.Commands.Gemm(64, 64, 64, 1, 0, ia, 0, ib, 0, ic, 0);
        await ctx.FenceWaitAsync(await ctx.SubmitAsync(channel, p)).WaitAsync(HostHarness.Timeout);
        var back = new byte[64 * 64 * 4];
        await c.ReadAsync(0, back);
        Assert.All(MemoryMarshal.Cast<byte, float>(back).ToArray(), x => Assert.Equal(128f, x));
    }

    private static async Task<GemObject> Matrix(DrmContext ctx, float value)
    {
        var gem = await ctx.GemNewAsync(64 * 64 * 4);
        await gem.WriteAsync(0, MemoryMarshal.AsBytes(Enumerable.Repeat(value, 64 * 64).ToArray().AsSpan()).ToArray());
        return gem;
    }

    [Fact]
    public async Task A_guest_touching_many_buffers_stays_within_the_mapping_cap_and_a_bystanders_gemm_keeps_its_mappings()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = HostHarness.Timeout, MaxMappings = Cap, MaxMappingsPerOwner = Share });
        string device = host.Device.Name;
        int baseline = Leaks.BufferMappings(device);
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");

        var work = await bystander.OpenContextAsync();
        var wchannel = await work.ChannelAllocAsync();
        GemObject a = await Matrix(work, 1), b = await Matrix(work, 2), c = await work.GemNewAsync(64 * 64 * 4);
        await VerifiedGemm(work, wchannel, a, b, c);

        // Far more small buffers than the cap, all within the attacker's quotas, each touched by
        // the engines (FILL), listed in NOP pushbufs, written and read.
        var evil = await attacker.OpenContextAsync();
        var channel = await evil.ChannelAllocAsync();
        var gems = new List<GemObject>();
        for (int i = 0; i < Buffers; i++) gems.Add(await evil.GemNewAsync(4096));
        int peak = 0;
        foreach (var batch in gems.Chunk(100))
        {
            var nops = new PushbufBuilder();
            var fills = new PushbufBuilder();
            foreach (var gem in batch)
            {
                nops.Use(gem, BufferAccess.ReadWrite);
                nops.Commands.Nop();
                fills.Commands.Fill(fills.Use(gem, BufferAccess.Write), 0, 4096, 0x11111111);
            }
            await evil.FenceWaitAsync(await evil.SubmitAsync(channel, nops)).WaitAsync(HostHarness.Timeout);
            await evil.FenceWaitAsync(await evil.SubmitAsync(channel, fills)).WaitAsync(HostHarness.Timeout);
            foreach (var gem in batch)
            {
                await gem.WriteAsync(8, new byte[] { 2 });
                var back = new byte[12];
                await gem.ReadAsync(0, back);
                Assert.Equal(new byte[] { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 2, 0x11, 0x11, 0x11 }, back);
            }
            peak = Math.Max(peak, Leaks.BufferMappings(device));
            // The bystander's verified workload between the attacker's batches.
            await VerifiedGemm(work, wchannel, a, b, c);
        }

        Assert.InRange(peak, 0, baseline + Cap);
        Assert.InRange(Leaks.BufferMappings(device), 0, baseline + Cap);
        // The attacker's churn evicted its own mappings, never the bystander's three.
        var cache = ((Native.Gpu.Soft.SoftGpu)host.Device).Mappings;
        Assert.Equal(3, cache.MappedBy("bystander"));
        Assert.InRange(cache.MappedBy("attacker"), 1, Share);
        Assert.True(cache.Evictions >= Buffers - Share, $"only {cache.Evictions} evictions");
        await VerifiedGemm(work, wchannel, a, b, c);

        // Freeing drops the mappings.
        await evil.DisposeAsync();
        AwaitCondition(() => cache.MappedBy("attacker") == 0, HostHarness.Timeout, HostHarness.Poll);
        Assert.InRange(Leaks.BufferMappings(device), 0, baseline + 3);
    }
}
