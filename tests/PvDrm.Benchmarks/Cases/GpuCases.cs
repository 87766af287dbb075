using System.Diagnostics;
using System.Runtime.InteropServices;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Benchmarks.Cases;

/// <summary>One guest's GEMM setup on a host: A, B, C of n×n float32, A and B filled through mappings, and a channel.</summary>
internal sealed class GemmGuest : IAsyncDisposable
{
    private GemmGuest(DrmClient client, DrmContext context, GemObject a, GemObject b, GemObject c, GemChannel channel, int n)
    {
        (Client, Context, A, B, C, Channel, N) = (client, context, a, b, c, channel, n);
    }

    public DrmClient Client { get; }
    public DrmContext Context { get; }
    public GemObject A { get; }
    public GemObject B { get; }
    public GemObject C { get; }
    public GemChannel Channel { get; }
    public int N { get; }

    public static async Task<GemmGuest> CreateAsync(string endpoint, string name, int n, float[] a, float[] b)
    {
        var client = await DrmClient.ConnectAsync(endpoint, new DrmClientOptions { Name = name });
        var context = await client.OpenContextAsync();
        ulong bytes = (ulong)n * (ulong)n * sizeof(float);
        var ga = await context.GemNewAsync(bytes);
        var gb = await context.GemNewAsync(bytes);
        var gc = await context.GemNewAsync(bytes);
        a.CopyTo((await ga.MapAsync()).Floats(0, a.Length));
        b.CopyTo((await gb.MapAsync()).Floats(0, b.Length));
        await gc.MapAsync();
        return new GemmGuest(client, context, ga, gb, gc, await context.ChannelAllocAsync(), n);
    }

    /// <summary>One GEMM C = A·B: PUSHBUF, then CPU_PREP on C (waits for the fence).</summary>
    public async Task GemmAsync()
    {
        var pushbuf = new PushbufBuilder();
        uint ia = pushbuf.Use(A, BufferAccess.Read), ib = pushbuf.Use(B, BufferAccess.Read), ic = pushbuf.Use(C, BufferAccess.ReadWrite);
        pushbuf.Commands.Gemm((uint)N, (uint)N, (uint)N, 1f, 0f, ia, 0, ib, 0, ic, 0);
        await Context.SubmitAsync(Channel, pushbuf);
        await C.CpuPrepAsync(write: false);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
    }

    public static float[] Random(int n, int seed)
    {
        var random = new Random(seed);
        var m = new float[n * n];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(random.NextDouble() * 2 - 1);
        return m;
    }
}

/// <summary>
/// A 1024×1024 float32 GEMM submitted through PvDrm (PUSHBUF + CPU_PREP to the host process) vs
/// the same SoftGpu called in this process (new SoftGpu, Submit, fence.WaitAsync).
/// </summary>
public sealed class GemmCase : BenchCase
{
    public const int N = 1024;

    public override string Name => "gemm";

    public override string Title => $"{N}x{N} GEMM through PvDrm vs SoftGpu in process";

    public override IReadOnlyList<string> Keys => ["gemm_overhead"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host, uploading matrices");
        var host = await c.Env.MainHostAsync();
        var a = GemmGuest.Random(N, 1);
        var b = GemmGuest.Random(N, 2);
        await using var guest = await GemmGuest.CreateAsync(host.Endpoint, c.Env.NewName("bench-gemm"), N, a, b);

        int bytes = N * N * sizeof(float);
        using var gpu = new SoftGpu("bench-inproc", new SoftGpuOptions());
        var ba = gpu.CreateBuffer((ulong)bytes, GemDomain.Vram, 0);
        var bb = gpu.CreateBuffer((ulong)bytes, GemDomain.Vram, 0);
        var bc = gpu.CreateBuffer((ulong)bytes, GemDomain.Vram, 0);
        using var channel = gpu.CreateChannel("bench");
        try
        {
            ba.Write(0, MemoryMarshal.AsBytes(a.AsSpan()));
            bb.Write(0, MemoryMarshal.AsBytes(b.AsSpan()));
            var commands = new SoftCommandWriter();
            commands.Gemm(N, N, N, 1f, 0f, 0, 0, 1, 0, 2, 0);
            var inline = commands.Written.ToArray();
            async Task InProcess()
            {
                var pushbuf = new Pushbuf([ba, bb, bc], [BufferAccess.Read, BufferAccess.Read, BufferAccess.ReadWrite],
                    [new PushEntry(PushEntry.InlineIndex, 0, (ulong)inline.Length)], inline);
                var fence = channel.Submit(pushbuf);
                await fence.WaitAsync();
                if (fence.Error != 0) throw new InvalidOperationException($"in-process GEMM failed: {fence.Message}");
            }

            c.Status("warming up");
            await guest.GemmAsync();
            await InProcess();

            var (pv, local, paired) = (new Samples(), new Samples(), new Samples());
            int n = c.Settings.GemmSamples;
            for (int i = 0; i < n; i++)
            {
                c.Status($"sample {i + 1}/{n}");
                double pvUs = 0, localUs = 0;
                foreach (bool isPv in i % 2 == 0 ? new[] { true, false } : new[] { false, true })
                {
                    long start = Stopwatch.GetTimestamp();
                    await (isPv ? guest.GemmAsync() : InProcess());
                    double us = Samples.MicrosSince(start);
                    (isPv ? pv : local).Add(us);
                    if (isPv) pvUs = us;
                    else localUs = us;
                }
                paired.Add(pvUs / localUs);
                c.Progress((i + 1.0) / n);
            }

            // Both computed the same product from the same inputs.
            var viaHost = new float[16];
            var inProc = new float[16];
            await guest.C.CpuPrepAsync(write: false);
            (await guest.C.MapAsync()).Floats(0, 16).CopyTo(viaHost);
            bc.Read(0, MemoryMarshal.AsBytes(inProc.AsSpan()));
            if (!viaHost.AsSpan().SequenceEqual(inProc)) throw new InvalidOperationException("the host's GEMM result differs from the in-process one");

            c.Report.Latency(Name, "gemm_pvdrm_us", pv, $"PUSHBUF (GEMM {N}^3) + CPU_PREP through pvdrm-host");
            c.Report.Latency(Name, "gemm_inproc_us", local, "new SoftGpu in this process: Submit + fence.WaitAsync");
            c.Report.Ratio(Name, "gemm_overhead", paired, "PvDrm / in process, per pair of GEMMs (alternating order)");
            c.Report.Set("gemm_pvdrm_gflops", 2.0 * N * N * N / (pv.Median * 1e3));
        }
        finally
        {
            ba.Release();
            bb.Release();
            bc.Release();
        }
    }
}

/// <summary>4 guests each running GEMMs: throughput on a concurrent host vs a host with sequential = on.</summary>
public sealed class ConcurrentCase : BenchCase
{
    public const int Guests = 4;

    public override string Name => "concurrent";

    public override string Title => $"{Guests} guests of GEMM work: sequential off vs on";

    public override IReadOnlyList<string> Keys => ["concurrent_over_sequential"];

    public override async Task RunAsync(CaseContext c)
    {
        int n = c.Settings.ConcurrentSize, iterations = c.Settings.ConcurrentIterations, rounds = c.Settings.ConcurrentRounds;
        c.Status("starting a concurrent and a sequential host");
        // Two fresh hosts, alike but for the mode (the main host carries the other cases' history).
        var concurrentHost = await c.Env.StartHostAsync("concurrent", sequential: false);
        var sequentialHost = await c.Env.StartHostAsync("sequential", sequential: true);
        var concurrent = new List<GemmGuest>();
        var sequential = new List<GemmGuest>();
        try
        {
            c.Status($"setting up {Guests} guests on each");
            for (int i = 1; i <= Guests; i++)
            {
                var (a, b) = (GemmGuest.Random(n, i), GemmGuest.Random(n, i + 100));
                concurrent.Add(await GemmGuest.CreateAsync(concurrentHost.Endpoint, c.Env.NewName("conc"), n, a, b));
                sequential.Add(await GemmGuest.CreateAsync(sequentialHost.Endpoint, c.Env.NewName("seq"), n, a, b));
            }
            await Round(concurrent, 1);
            await Round(sequential, 1);

            // Rounds alternate the modes (and their order); each round's ratio compares two runs
            // a moment apart, so that a change in the machine's load falls on both.
            var (on, off, paired) = (new Samples(), new Samples(), new Samples());
            for (int r = 0; r < rounds; r++)
            {
                c.Status($"round {r + 1}/{rounds}");
                double offRate = 0, onRate = 0;
                foreach (bool isConcurrent in r % 2 == 0 ? new[] { true, false } : new[] { false, true })
                {
                    double rate = await Round(isConcurrent ? concurrent : sequential, iterations);
                    (isConcurrent ? off : on).Add(rate);
                    if (isConcurrent) offRate = rate;
                    else onRate = rate;
                }
                paired.Add(offRate / onRate);
                c.Progress((r + 1.0) / rounds);
            }
            string what = $"{Guests} guests x {iterations} GEMM {n}^3 (PUSHBUF + CPU_PREP), all started together";
            c.Report.Throughput(Name, "concurrent_gemm_per_s", off, "GEMM/s", null, $"sequential = off: {what}");
            c.Report.Throughput(Name, "sequential_gemm_per_s", on, "GEMM/s", null, $"sequential = on: {what}");
            c.Report.Ratio(Name, "concurrent_over_sequential", paired,
                $"median over {rounds} rounds of throughput off / on (each round: both modes, a moment apart); " +
                $"rounds {string.Join(", ", Enumerable.Range(0, paired.Count).Select(i => paired.Percentile((i + 0.5) / paired.Count).ToString("F2")))} (sorted); " +
                $"{Environment.ProcessorCount} cores, SoftGpu engines = cores");
            c.Report.Set("concurrent_over_sequential_min", paired.Min);
        }
        finally
        {
            foreach (var g in concurrent.Concat(sequential)) await g.DisposeAsync();
            await sequentialHost.Process.StopAsync(TimeSpan.FromSeconds(5));
            await concurrentHost.Process.StopAsync(TimeSpan.FromSeconds(5));
        }

        // GEMMs per second of all guests together.
        static async Task<double> Round(List<GemmGuest> guests, int iterations)
        {
            long start = Stopwatch.GetTimestamp();
            await Task.WhenAll(guests.Select(async g =>
            {
                for (int i = 0; i < iterations; i++) await g.GemmAsync();
            }));
            return guests.Count * iterations / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }
}
