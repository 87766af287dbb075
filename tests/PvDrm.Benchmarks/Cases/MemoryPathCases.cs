using System.Diagnostics;
using System.Runtime.InteropServices;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Benchmarks.Cases;

/// <summary>Plain memory helpers: spans over native memory may not live across an await.</summary>
internal static unsafe class NativeBuffers
{
    public const int Size = 256 << 20;

    public static nint Alloc(int size) => (nint)NativeMemory.AlignedAlloc((nuint)size, 4096);

    public static void Free(nint p) => NativeMemory.AlignedFree((void*)p);

    /// <summary>A fresh private anonymous mapping: its pages are faulted in by the first write.</summary>
    public static nint MapAnonymous(int size)
    {
        void* p = mmap(null, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw new InvalidOperationException($"mmap of {size} anonymous bytes failed: errno {errno}");
        return (nint)p;
    }

    public static void Unmap(nint p, int size) => munmap((void*)p, (size_t)size);

    public static Span<byte> Span(nint p, int size) => new((void*)p, size);

    /// <summary>Fills <paramref name="p"/> with a pattern (this also faults its pages in).</summary>
    public static void Pattern(nint p, int size)
    {
        var span = MemoryMarshal.Cast<byte, uint>(Span(p, size));
        for (int i = 0; i < span.Length; i++) span[i] = (uint)i * 2654435761u;
    }

    /// <summary>memcpy of <paramref name="size"/> bytes (Buffer.Memmove underneath); returns the seconds it took.</summary>
    public static double TimeCopy(nint source, Span<byte> destination)
    {
        var src = Span(source, destination.Length);
        long start = Stopwatch.GetTimestamp();
        src.CopyTo(destination);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}

/// <summary>
/// Filling a 256 MiB GEM object through its mapping vs memcpy into process memory: the same
/// memcpy from the same source, only the destination differs. Main figures: pages already
/// touched (one untimed pass first), i.e. steady-state bandwidth. Also first touch: a fresh object
/// or a fresh anonymous mapping per sample, faults included.
/// </summary>
public sealed class MapCase : BenchCase
{
    public override string Name => "map";

    public override string Title => "256 MiB through a GEM mapping vs memcpy";

    public override IReadOnlyList<string> Keys => ["map_write_gbps", "memcpy_gbps", "map_ratio_vs_memcpy"];

    public override async Task RunAsync(CaseContext c)
    {
        const int size = NativeBuffers.Size;
        c.Status("starting the host");
        var client = await c.Env.MainClientAsync();
        nint source = NativeBuffers.Alloc(size), local = NativeBuffers.Alloc(size);
        try
        {
            await using var ctx = await client.OpenContextAsync();
            c.Status("allocating and mapping 256 MiB");
            NativeBuffers.Pattern(source, size);
            var gem = await ctx.GemNewAsync(size);
            var map = await gem.MapAsync();
            // Touch both destinations once, untimed: the timed passes see resident pages.
            NativeBuffers.TimeCopy(source, map.Bytes(0, size));
            NativeBuffers.TimeCopy(source, NativeBuffers.Span(local, size));

            var (mapTimes, localTimes, paired) = (new Samples(), new Samples(), new Samples());
            int n = c.Settings.MapSamples;
            for (int i = 0; i < n; i++)
            {
                c.Status($"steady state, sample {i + 1}/{n}");
                double mapped, plain;
                if (i % 2 == 0)
                {
                    mapped = NativeBuffers.TimeCopy(source, map.Bytes(0, size));
                    plain = NativeBuffers.TimeCopy(source, NativeBuffers.Span(local, size));
                }
                else
                {
                    plain = NativeBuffers.TimeCopy(source, NativeBuffers.Span(local, size));
                    mapped = NativeBuffers.TimeCopy(source, map.Bytes(0, size));
                }
                mapTimes.Add(mapped);
                localTimes.Add(plain);
                paired.Add(plain / mapped); // bandwidth ratio: time of memcpy / time into the mapping
                c.Progress(0.5 * (i + 1) / n);
            }
            // Check that the bytes went where the GPU sees them.
            if (!map.Bytes(0, 4096).SequenceEqual(NativeBuffers.Span(source, 4096))) throw new InvalidOperationException("mapping does not hold what was written");
            await gem.CloseAsync();

            var (mapFirst, localFirst, pairedFirst) = (new Samples(), new Samples(), new Samples());
            int m = c.Settings.FirstTouchSamples;
            for (int i = 0; i < m; i++)
            {
                c.Status($"first touch, sample {i + 1}/{m}");
                var fresh = await ctx.GemNewAsync(size);
                var freshMap = await fresh.MapAsync();
                double mapped = NativeBuffers.TimeCopy(source, freshMap.Bytes(0, size));
                mapFirst.Add(mapped);
                await fresh.CloseAsync();
                nint anon = NativeBuffers.MapAnonymous(size);
                double plain = NativeBuffers.TimeCopy(source, NativeBuffers.Span(anon, size));
                localFirst.Add(plain);
                pairedFirst.Add(plain / mapped);
                NativeBuffers.Unmap(anon, size);
                c.Progress(0.5 + 0.5 * (i + 1) / m);
            }

            c.Report.Bandwidth(Name, "map_write_gbps", mapTimes, size, "memcpy 256 MiB into the mapped GEM object (memfd, shared); pages touched before");
            c.Report.Bandwidth(Name, "memcpy_gbps", localTimes, size, "memcpy 256 MiB into process memory; pages touched before");
            c.Report.Ratio(Name, "map_ratio_vs_memcpy", paired, "map GB/s / memcpy GB/s, per pair of passes (alternating order)");
            c.Report.Bandwidth(Name, "map_first_touch_gbps", mapFirst, size, "fresh GEM object per sample (GEM_NEW, MAP untimed): shmem faults");
            c.Report.Bandwidth(Name, "memcpy_first_touch_gbps", localFirst, size, "fresh anonymous mmap per sample: anonymous faults");
            c.Report.Ratio(Name, "map_first_touch_ratio_vs_memcpy", pairedFirst, "first touch, map / memcpy, per pair of passes");
        }
        finally
        {
            NativeBuffers.Free(source);
            NativeBuffers.Free(local);
        }
    }
}

/// <summary>The same 256 MiB through GEM_WRITE (GemObject.WriteAsync): copied through the host in frame-sized chunks.</summary>
public sealed class CopyCase : BenchCase
{
    /// <summary>What one WriteAsync call is given when the whole 256 MiB in one call fails.</summary>
    public const int Slice = 8 << 20;

    public override string Name => "copy";

    public override string Title => "256 MiB through GEM_WRITE";

    public override IReadOnlyList<string> Keys => ["copy_write_gbps"];

    public override async Task RunAsync(CaseContext c)
    {
        const int size = NativeBuffers.Size;
        var host = await c.Env.MainHostAsync();
        var data = new byte[size];
        Random.Shared.NextBytes(data.AsSpan(0, 1 << 20));
        for (int at = 1 << 20; at < size; at += 1 << 20) data.AsSpan(0, 1 << 20).CopyTo(data.AsSpan(at));

        // First as the API invites: the whole 256 MiB in one WriteAsync call (every chunk sent at once).
        c.Status("one WriteAsync of 256 MiB");
        string? wholeError = null;
        double wholeSeconds = double.NaN;
        await using (var probe = await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = c.Env.NewName("bench-copy-whole") }))
        {
            await using var ctx = await probe.OpenContextAsync();
            var gem = await ctx.GemNewAsync(size);
            long start = Stopwatch.GetTimestamp();
            try
            {
                await gem.WriteAsync(0, data).WaitAsync(TimeSpan.FromSeconds(60));
                wholeSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            catch (Exception e)
            {
                wholeError = e.Message;
            }
        }
        c.Progress(0.2);

        // Then in slices that keep the client's send queue under its 16 MiB limit.
        int slice = wholeError == null ? size : Slice;
        await using var client = await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = c.Env.NewName("bench-copy") });
        await using (var ctx = await client.OpenContextAsync())
        {
            var gem = await ctx.GemNewAsync(size);
            await Write(gem, data, slice); // touches the pages, untimed
            var times = new Samples();
            int n = c.Settings.CopySamples;
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            int gen2 = GC.CollectionCount(2);
            for (int i = 0; i < n; i++)
            {
                c.Status($"sample {i + 1}/{n}");
                long start = Stopwatch.GetTimestamp();
                await Write(gem, data, slice);
                times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                c.Progress(0.2 + 0.8 * (i + 1) / n);
            }
            double allocPerByte = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / ((double)size * n);
            int gen2s = GC.CollectionCount(2) - gen2;
            var check = new byte[4096];
            await gem.ReadAsync((ulong)size - 4096, check);
            if (!check.AsSpan().SequenceEqual(data.AsSpan(size - 4096))) throw new InvalidOperationException("GEM_READ does not return what GEM_WRITE wrote");
            string how = slice == size ? "one WriteAsync call" : $"WriteAsync per {slice >> 20} MiB slice, awaited in turn";
            c.Report.Bandwidth(Name, "copy_write_gbps", times, size, $"GEM_WRITE of 256 MiB in {Chunk(client) >> 10} KiB chunks ({how}); pages touched before");
            c.Report.Value(Name, "copy_client_alloc_per_byte", allocPerByte, $"{allocPerByte:F2} B/B", $"{n}",
                $"diagnostic: bytes this process allocated per byte written; {gen2s} gen2 GCs here during the timed passes");
            c.Report.Set("copy_client_gen2_gcs", gen2s);
        }
        c.Report.Set("copy_write_one_call_ok", wholeError == null ? 1 : 0);
        if (wholeError != null)
        {
            c.Report.Failed(Name, "copy_write_one_call_gbps", $"one WriteAsync(256 MiB) failed: {wholeError}");
            c.Report.Note($"copy: GemObject.WriteAsync of 256 MiB in one call failed: {wholeError}");
        }
        else c.Report.Value(Name, "copy_write_one_call_gbps", size / wholeSeconds / 1e9, $"{size / wholeSeconds / 1e9:F2} GB/s", "1", "the untimed first pass, one call");

        // What DrmClient.MaxChunk (internal) computes: the data one GEM_WRITE frame carries.
        static int Chunk(DrmClient client) =>
            Math.Max(4096, client.MaxFrame - PvDrm.Protocol.FrameEncoder.ReplyPrefix - PvDrm.Protocol.FrameEncoder.MaxMessageBytes - 64) & ~4095;

        static async Task Write(GemObject gem, byte[] data, int slice)
        {
            for (int at = 0; at < data.Length; at += slice)
                await gem.WriteAsync((ulong)at, data.AsMemory(at, Math.Min(slice, data.Length - at)));
        }
    }
}
