using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Security;

/// <summary>
/// SCRUB imports are the asking guest's work on the engines, a chunk (soft-gpu.scrub-chunk) at a
/// time, not a call on the shared dispatcher: a guest queueing huge scrubs does not hold up a
/// bystander's requests or its pushbuf until they finish, and the scrubbed pages read zero and
/// are freed. Observed through the device's count of scrub chunks, not the clock.
/// </summary>
public class ScrubWorkTests : TestKit
{
    private const int Chunk = 64 << 10, Size = 256 << 20, Scrubs = 16;

    [Fact]
    public async Task A_guests_huge_scrubs_run_in_chunks_as_its_work_and_a_bystander_is_served_meanwhile()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null }, new SoftGpuOptions
        {
            Engines = 1, MemoryBytes = 2UL << 30, ScrubChunkBytes = Chunk, TimeSlice = TimeSpan.FromTicks(1), SemaphoreTimeout = HostHarness.Timeout,
        });
        var gpu = (Native.Gpu.Soft.SoftGpu)host.Device;
        await using var attacker = await host.ConnectAsync("attacker");
        await using var bystander = await host.ConnectAsync("bystander");
        var work = await bystander.OpenContextAsync();

        var owner = await attacker.OpenContextAsync();
        var huge = await owner.GemNewAsync(Size);
        using var fd = (await owner.Send(new GemMap(huge.Handle))).TakeFd()!;
        await huge.WriteAsync(0, Enumerable.Repeat((byte)0xab, 4096).ToArray());
        await huge.WriteAsync(Size - 4096, Enumerable.Repeat((byte)0xab, 4096).ToArray());
        uint name = await huge.ExportAsync();
        var evil = await attacker.OpenContextAsync();
        var scrubs = Enumerable.Range(0, Scrubs).Select(i => evil.Send(new GemImport(name, 1000 + (uint)i, GemImportFlags.Scrub))).ToArray();
        AwaitCondition(() => gpu.ScrubChunks > 0, HostHarness.Timeout, HostHarness.Poll);

        // The bystander's requests and verified GPU work go through while the scrubs are under way.
        await Verified.FillAndCheck(work, 0x5a5a5a5a);
        var fresh = await work.GemNewAsync(4096);
        await fresh.WriteAsync(0, new byte[] { 7 });
        Assert.True(gpu.ScrubChunks < (long)Scrubs * Size / Chunk, "the bystander was served only after the scrubs finished");

        foreach (var reply in await Task.WhenAll(scrubs).WaitAsync(HostHarness.Timeout)) Assert.Equal(0, reply.Status);
        Assert.Equal((long)Scrubs * Size / Chunk, gpu.ScrubChunks);
        var back = new byte[4096];
        await huge.ReadAsync(Size - 4096, back);
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the scrubbed buffer kept old data");
        await huge.ReadAsync(0, back);
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the scrubbed buffer kept old data");
        Assert.Equal(0, Leaks.ResidentBytes(fd));
    }

    /// <summary>
    /// A guest's requests keep their order across a SCRUB import, which finishes off the context's
    /// thread: a GEM_READ of the imported handle sent right behind the import (as the proxy's GEM
    /// cache does) waits for it instead of finding no such handle.
    /// </summary>
    [Fact]
    public async Task A_request_right_behind_a_scrub_import_sees_the_handle_it_opens()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null }, new SoftGpuOptions
        {
            Engines = 1, MemoryBytes = 1UL << 30, ScrubChunkBytes = Chunk, SemaphoreTimeout = HostHarness.Timeout,
        });
        await using var guest = await host.ConnectAsync("cache");
        var owner = await guest.OpenContextAsync();
        var big = await owner.GemNewAsync(64 << 20); // a thousand chunks: the import is still scrubbing when the read arrives
        await big.WriteAsync(0, Enumerable.Repeat((byte)0x5e, 4096).ToArray());
        uint name = await big.ExportAsync();
        var next = await guest.OpenContextAsync();

        var import = next.Send(new GemImport(name, 7, GemImportFlags.Scrub));
        var read = next.Send(new GemRead(7, 0, 4096)); // pipelined, as a cache hit is

        Assert.Equal(0, (await import.WaitAsync(HostHarness.Timeout)).Status);
        var data = (await read.WaitAsync(HostHarness.Timeout)).Payload;
        Assert.Equal(4096, data.Length);
        Assert.True(data.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the read saw the buffer before it was scrubbed");
    }
}
