using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Security;

/// <summary>
/// Host-wide resources a guest drives through buffers (descriptors, mappings, GEM actors) are
/// budgeted per guest and per device; a refusal fails one request, and a bystander keeps working.
/// </summary>
public class HostResourceTests : TestKit
{
    private HostHarness Host(HostSettings settings, int maxDescriptors) => new(this, settings with { ListenUnix = null },
        new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromSeconds(20), MaxDescriptors = maxDescriptors });

    /// <summary>Writes a pattern through GEM_WRITE and reads it back through GEM_READ.</summary>
    private static async Task VerifiedWriteRead(GemObject gem, byte seed)
    {
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + seed)).ToArray();
        await gem.WriteAsync(0, data);
        var back = new byte[data.Length];
        await gem.ReadAsync(0, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task A_guest_backing_many_buffers_hits_its_descriptor_budget_and_a_bystander_keeps_working()
    {
        var host = Host(new HostSettings { DescriptorsPerGuest = 16 }, maxDescriptors: 64);
        string device = host.Device.Name;
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var ctx = await attacker.OpenContextAsync();
        var mine = await (await bystander.OpenContextAsync()).GemNewAsync(4096);
        await VerifiedWriteRead(mine, 1);

        // Idle buffers cost nothing; each one written needs a memfd (and may get a mapping).
        var buffers = new List<GemObject>();
        for (int i = 0; i < 40; i++) buffers.Add(await ctx.GemNewAsync(4096));
        int written = 0;
        DrmException? refused = null;
        foreach (var gem in buffers)
        {
            try
            {
                await gem.WriteAsync(0, new byte[] { 1 });
                written++;
            }
            catch (DrmException e)
            {
                refused = e;
                break;
            }
        }
        Assert.Equal(16, written);
        Assert.NotNull(refused);
        Assert.Equal(Errno.EMFILE, refused.Errno);
        Assert.Contains("limits.descriptors-per-guest", refused.Message);
        // Every other way to make an untouched buffer's memory exist is refused the same way.
        var channel = await ctx.ChannelAllocAsync();
        var viaPushbuf = await Assert.ThrowsAsync<DrmException>(() => ctx.SubmitAsync(channel, Commands.Fill(buffers[30], 5)));
        Assert.Contains("limits.descriptors-per-guest", viaPushbuf.Message);
        var viaMap = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new GemMap(buffers[31].Handle)));
        Assert.Contains("limits.descriptors-per-guest", viaMap.Message);

        // The bystander: new buffers, written, mapped, used by the engines, all verified.
        var bctx = mine.Context;
        var fresh = await bctx.GemNewAsync(4096);
        await VerifiedWriteRead(fresh, 2);
        var bchannel = await bctx.ChannelAllocAsync();
        await bctx.FenceWaitAsync(await bctx.SubmitAsync(bchannel, Commands.Fill(fresh, 0xCAFE)));
        var word = new byte[4];
        await fresh.ReadAsync(4092, word);
        Assert.Equal(0xCAFEu, BitConverter.ToUInt32(word));
        await VerifiedWriteRead(mine, 3);
        // The host holds what the budgets allow, and no more.
        Assert.InRange(Leaks.BufferFds(device), 1, 16 + 2);
        Assert.InRange(Leaks.BufferMappings(device), 0, 16 + 2);

        // Freeing makes room again (GEM_CLOSE answers after the object's descriptor is returned).
        foreach (var gem in buffers.Take(16)) await gem.CloseAsync();
        await VerifiedWriteRead(buffers[39], 4);
    }

    [Fact]
    public async Task When_the_device_runs_out_of_descriptors_one_request_fails_and_every_session_lives()
    {
        var host = Host(new HostSettings(), maxDescriptors: 8);
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var bctx = await bystander.OpenContextAsync();
        var mine = await bctx.GemNewAsync(4096);
        await VerifiedWriteRead(mine, 1);

        var ctx = await attacker.OpenContextAsync();
        var held = new List<GemObject>();
        for (int i = 0; i < 7; i++)
        {
            held.Add(await ctx.GemNewAsync(4096));
            await held[^1].WriteAsync(0, new byte[] { 1 });
        }
        var extra = await ctx.GemNewAsync(4096);
        var full = await Assert.ThrowsAsync<DrmException>(() => extra.WriteAsync(0, new byte[] { 1 }));
        Assert.Equal(Errno.EMFILE, full.Errno);
        Assert.Contains("soft-gpu.max-descriptors", full.Message);

        // The bystander's new buffer cannot get memory now: that request fails, its session does not.
        var fresh = await bctx.GemNewAsync(4096);
        var refused = await Assert.ThrowsAsync<DrmException>(() => fresh.WriteAsync(0, new byte[] { 1 }));
        Assert.Equal(Errno.EMFILE, refused.Errno);
        await VerifiedWriteRead(mine, 2);

        foreach (var gem in held) await gem.CloseAsync();
        await VerifiedWriteRead(fresh, 3);
        await VerifiedWriteRead(extra, 4);
    }

    [Fact]
    public async Task Imported_handles_count_against_the_guests_handle_budget()
    {
        var host = Host(new HostSettings { HandlesPerGuest = 4 }, maxDescriptors: 64);
        await using var client = await host.ConnectAsync();
        var owner = await client.OpenContextAsync();
        var gem = await owner.GemNewAsync(4096);
        uint name = await gem.ExportAsync();
        var imports = new List<GemObject>();
        for (int i = 0; i < 3; i++) imports.Add(await (await client.OpenContextAsync()).ImportAsync(name));

        var other = await client.OpenContextAsync();
        var byName = await Assert.ThrowsAsync<DrmException>(() => other.ImportAsync(name));
        Assert.Equal(Errno.EMFILE, byName.Errno);
        Assert.Contains("limits.handles-per-guest", byName.Message);
        using (var fd = await gem.PrimeExportAsync())
        {
            var byFd = await Assert.ThrowsAsync<DrmException>(() => other.PrimeImportAsync(fd));
            Assert.Contains("limits.handles-per-guest", byFd.Message);
        }
        var created = await Assert.ThrowsAsync<DrmException>(() => other.GemNewAsync(4096));
        Assert.Contains("limits.handles-per-guest", created.Message);

        await imports[0].CloseAsync();
        await VerifiedWriteRead(await other.ImportAsync(name), 1);
    }
}
