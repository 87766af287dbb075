using System.Diagnostics;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Benchmarks.Cases;

/// <summary>64 GET_PARAMs in flight from one guest vs the raw echo with 64 in flight.</summary>
public sealed class PipelinedCase : BenchCase
{
    public const int InFlight = 64;

    public override string Name => "pipelined";

    public override string Title => $"{InFlight} requests in flight from one guest vs raw echo";

    public override IReadOnlyList<string> Keys => ["pipelined_ops_per_s", "pipelined_ratio_vs_raw"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and the echo server");
        var client = await c.Env.MainClientAsync();
        var raw = await c.Env.RawEchoAsync();
        Func<Task> pvdrm = () => client.GetParamAsync(DeviceParam.GraphUnits), echo = () => raw.RoundTripAsync(DeviceParam.GraphUnits);
        int perSlot = c.Settings.PipelinedPerSlot, trials = c.Settings.PipelinedTrials;

        c.Status("warming up");
        var warmEnd = Stopwatch.GetTimestamp() + (long)(c.Settings.WarmupTime.TotalSeconds * Stopwatch.Frequency);
        do
        {
            await Measure.PipelinedAsync(pvdrm, InFlight, perSlot);
            await Measure.PipelinedAsync(echo, InFlight, perSlot);
        }
        while (Stopwatch.GetTimestamp() < warmEnd);

        var (pvOps, rawOps, pvLat, rawLat, paired) = (new Samples(), new Samples(), new Samples(), new Samples(), new Samples());
        for (int t = 0; t < trials; t++)
        {
            c.Status($"trial {t + 1}/{trials}");
            bool pvFirst = t % 2 == 0;
            double pvRate = 0, rawRate = 0;
            foreach (bool isPv in pvFirst ? new[] { true, false } : new[] { false, true })
            {
                var (ops, lat) = await Measure.PipelinedAsync(isPv ? pvdrm : echo, InFlight, perSlot);
                (isPv ? pvOps : rawOps).Add(ops);
                (isPv ? pvLat : rawLat).AddRange(lat);
                if (isPv) pvRate = ops;
                else rawRate = ops;
            }
            paired.Add(pvRate / rawRate);
            c.Progress((t + 1.0) / trials);
        }
        c.Report.Throughput(Name, "pipelined_ops_per_s", pvOps, "req/s", pvLat, $"GET_PARAM, {InFlight} in flight, {InFlight * perSlot} per trial");
        c.Report.Throughput(Name, "raw_pipelined_ops_per_s", rawOps, "req/s", rawLat, $"raw echo, {InFlight} in flight");
        c.Report.Ratio(Name, "pipelined_ratio_vs_raw", paired, "PvDrm / raw echo per pair of trials (a moment apart)");
    }
}

/// <summary>GEM_NEW + GEM_CLOSE round trips, and GEM_NEW pipelined with guest-assigned handles.</summary>
public sealed class GemNewCase : BenchCase
{
    public override string Name => "gemnew";

    public override string Title => "GEM_NEW + GEM_CLOSE round trip, and pipelined GEM_NEW";

    public override IReadOnlyList<string> Keys => ["gem_new_us", "gem_new_pipelined_per_s"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host");
        var client = await c.Env.MainClientAsync();
        var s = c.Settings;

        // One at a time: GEM_NEW (4 KiB) then GEM_CLOSE, each awaited.
        await using (var ctx = await client.OpenContextAsync())
        {
            c.Status("GEM_NEW + GEM_CLOSE, one at a time");
            for (int i = 0; i < 200; i++) await (await ctx.GemNewAsync(4096)).CloseAsync();
            var pairs = new Samples(s.GemNewSamples);
            for (int i = 0; i < s.GemNewSamples; i++)
            {
                long start = Stopwatch.GetTimestamp();
                var gem = await ctx.GemNewAsync(4096);
                await gem.CloseAsync();
                pairs.Add(Samples.MicrosSince(start));
                if (i % 100 == 0) c.Progress(0.3 * i / s.GemNewSamples);
            }
            c.Report.Latency(Name, "gem_new_us", pairs, "GEM_NEW 4 KiB + GEM_CLOSE, both awaited (two round trips)");
        }

        // Reply-less: the guest picks the handles and posts GEM_NEWs (DrmClient.Post); a GEM_INFO on
        // the last one, answered after the context has handled the others, ends the trial.
        await using (var ctx = await client.OpenContextAsync())
        {
            var rates = new Samples();
            int batch = s.GemNewBatch;
            uint next = 1;
            for (int t = -1; t < s.GemNewTrials; t++) // trial -1 warms up
            {
                c.Status($"GEM_NEW reply-less, trial {t + 2}/{s.GemNewTrials + 1}");
                uint first = next;
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < batch; i++)
                    client.Post(new GemNew(next++, GemDomain.Vram | GemDomain.Mappable, 4096, 0) { Context = ctx.Id });
                await client.SendAsync(new GemInfo(next - 1) { Context = ctx.Id });
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (t >= 0) rates.Add(batch / seconds);
                for (uint h = first; h < next; h++) client.Post(new GemClose(h) { Context = ctx.Id });
                await client.SendRawAsync(new GemInfo(next - 1) { Context = ctx.Id }); // ENOENT once the closes are through
                c.Progress(0.3 + 0.4 * (t + 2) / (s.GemNewTrials + 1));
            }
            c.Report.Throughput(Name, "gem_new_pipelined_per_s", rates, "obj/s", null, $"reply-less GEM_NEW (DrmClient.Post), {batch} per trial");
        }

        // Many in flight with replies: GemNewAsync with 64 outstanding.
        await using (var ctx = await client.OpenContextAsync())
        {
            var rates = new Samples();
            int batch = s.GemNewBatch;
            for (int t = -1; t < s.GemNewTrials; t++)
            {
                c.Status($"GEM_NEW 64 in flight, trial {t + 2}/{s.GemNewTrials + 1}");
                var objects = new GemObject[batch];
                long start = Stopwatch.GetTimestamp();
                var (ok, error) = await Measure.WindowedAsync(batch, 64, async i => objects[i] = await ctx.GemNewAsync(4096), c.Ct);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (error != null) throw error;
                if (t >= 0) rates.Add(batch / seconds);
                await Measure.WindowedAsync(batch, 64, i => objects[i].CloseAsync(), c.Ct);
                c.Progress(0.7 + 0.3 * (t + 2) / (s.GemNewTrials + 1));
            }
            c.Report.Throughput(Name, "gem_new_inflight64_per_s", rates, "obj/s", null, $"GemNewAsync with 64 in flight, {batch} per trial");
        }
    }
}

/// <summary>
/// Throughput and p99 latency of GET_PARAM at 1, 4, 16 and 64 guests (connections), each one
/// request at a time. All levels stay connected; each block runs every level for one window in
/// turn (the order rotates), so the 64-over-1 ratio is taken a moment apart, block by block.
/// </summary>
public sealed class ScalingCase : BenchCase
{
    private static readonly int[] s_levels = [1, 4, 16, 64];

    public override string Name => "scaling";

    public override string Title => "GET_PARAM throughput and p99 at 1, 4, 16, 64 guests";

    public override IReadOnlyList<string> Keys => ["guests_1_ops_per_s", "guests_1_p99_us", "guests_64_ops_per_s", "guests_64_p99_us", "guests_scaling"];

    public override async Task RunAsync(CaseContext c)
    {
        var host = await c.Env.MainHostAsync();
        var levels = new List<DrmClient[]>();
        try
        {
            foreach (int guests in s_levels)
            {
                c.Status($"{guests} guest(s): connecting");
                var clients = new DrmClient[guests];
                levels.Add(clients);
                for (int i = 0; i < guests; i++)
                    clients[i] = await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = c.Env.NewName($"scale{guests}") });
            }
            c.Status("warming up");
            foreach (var clients in levels)
            {
                long warmEnd = Stopwatch.GetTimestamp() + (long)(c.Settings.WarmupTime.TotalSeconds * Stopwatch.Frequency);
                await Task.WhenAll(clients.Select(cl => Loop(cl, new Samples(), warmEnd)));
            }

            int blocks = c.Settings.ScalingBlocks;
            var window = c.Settings.ScalingDuration / blocks;
            var rates = s_levels.Select(_ => new Samples(blocks)).ToArray();
            var latencies = s_levels.Select(_ => new Samples()).ToArray();
            var scaling = new Samples(blocks);
            for (int b = 0; b < blocks; b++)
            {
                c.Status($"block {b + 1}/{blocks}");
                var blockRate = new double[s_levels.Length];
                for (int k = 0; k < s_levels.Length; k++)
                {
                    int level = (b + k) % s_levels.Length;
                    var perGuest = levels[level].Select(_ => new Samples(4096)).ToArray();
                    long start = Stopwatch.GetTimestamp();
                    long end = start + (long)(window.TotalSeconds * Stopwatch.Frequency);
                    await Task.WhenAll(levels[level].Select((cl, i) => Loop(cl, perGuest[i], end)));
                    blockRate[level] = perGuest.Sum(p => p.Count) / Stopwatch.GetElapsedTime(start).TotalSeconds;
                    rates[level].Add(blockRate[level]);
                    foreach (var p in perGuest) latencies[level].AddRange(p);
                }
                scaling.Add(blockRate[^1] / blockRate[0]);
                c.Progress((b + 1.0) / blocks);
            }
            for (int level = 0; level < s_levels.Length; level++)
            {
                int guests = s_levels[level];
                c.Report.Throughput(Name, $"guests_{guests}_ops_per_s", rates[level], "req/s", latencies[level],
                    $"{guests} guest connection(s), 1 in flight each, {blocks} windows of {window.TotalSeconds:F2} s, levels interleaved");
                c.Report.Set($"guests_{guests}_median_us", latencies[level].Median);
            }
            c.Report.Ratio(Name, "guests_scaling", scaling, $"throughput at {s_levels[^1]} guests / at 1, per block (no collapse: >= 1, our reading)");
        }
        finally
        {
            foreach (var cl in levels.SelectMany(l => l).Where(cl => cl != null)) await cl.DisposeAsync();
        }

        static async Task Loop(DrmClient client, Samples into, long end)
        {
            await Task.Yield();
            while (Stopwatch.GetTimestamp() < end)
            {
                long t = Stopwatch.GetTimestamp();
                await client.GetParamAsync(DeviceParam.GraphUnits);
                into.Add(Samples.MicrosSince(t));
            }
        }
    }
}
