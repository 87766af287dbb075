using System.Diagnostics;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// GEM_INFO (a request through the guest's actors, not answered on the I/O loop) over the
/// shared-memory ring beside the same op over the socket, one at a time and pipelined, against
/// the same host process.
/// </summary>
public sealed class RingCase : BenchCase
{
    public const int InFlight = 64;

    public override string Name => "ring";

    public override string Title => "GEM_INFO over the shared-memory ring vs over the socket";

    public override IReadOnlyList<string> Keys =>
        ["ring_gem_info_rtt_us", "socket_gem_info_rtt_us", "ring_over_socket_rtt", "ring_pipelined_ops_per_s", "socket_pipelined_ops_per_s", "ring_over_socket_pipelined",
         "ring_batched_ops_per_s", "ring_batched_over_pipelined", "ring_over_c_poll", "ring_over_c_block"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and two guests");
        var host = await c.Env.MainHostAsync();
        var ring = c.Env.Track(await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = "bench-ring" }));
        var socket = c.Env.Track(await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = "bench-socket", Ring = false }));
        if (!ring.OnRing) throw new InvalidOperationException("the host did not take the ring (pvdrm.host.ring.enabled)");
        var onRing = await (await ring.OpenContextAsync()).GemNewAsync(4096);
        var onSocket = await (await socket.OpenContextAsync()).GemNewAsync(4096);
        Func<Task> viaRing = () => onRing.InfoAsync(), viaSocket = () => onSocket.InfoAsync();
        // The same requests as the pipelined figure's, 64 per DrmBatch: one write, one doorbell, one task per batch.
        Func<Task> batched = async () =>
        {
            using var batch = onRing.Context.Batch();
            for (int i = 0; i < InFlight; i++) batch.Add(new PvDrm.Protocol.Requests.GemInfo(onRing.Handle));
            (await batch.FlushAsync()).ThrowIfAnyFailed();
        };

        c.Status("round trips");
        var (r, s) = await Measure.InterleavedAsync(viaRing, viaSocket, c.Settings.RttSamples, c.Settings.RttWarmup, c.Settings.Blocks, c, 0, 0.5);
        c.Report.Latency(Name, "ring_gem_info_rtt_us", r, "GEM_INFO through the guest's actors, on the ring, one at a time");
        c.Report.Latency(Name, "socket_gem_info_rtt_us", s, "the same over the Unix socket");
        c.Report.Ratio(Name, "ring_over_socket_rtt", r.Median / s.Median, "median / median, interleaved blocks");

        await AgainstCLimitsAsync(c, viaRing);

        int perSlot = c.Settings.PipelinedPerSlot, trials = c.Settings.PipelinedTrials;
        var (rOps, sOps, rLat, sLat) = (new Samples(), new Samples(), new Samples(), new Samples());
        var (bOps, bOverP) = (new Samples(), new Samples());
        double lastRing = 0;
        var warmEnd = Stopwatch.GetTimestamp() + (long)(c.Settings.WarmupTime.TotalSeconds * Stopwatch.Frequency);
        do
        {
            await Measure.PipelinedAsync(viaRing, InFlight, perSlot);
            await Measure.PipelinedAsync(viaSocket, InFlight, perSlot);
            await Measure.PipelinedAsync(batched, 1, perSlot);
        }
        while (Stopwatch.GetTimestamp() < warmEnd);
        for (int t = 0; t < trials; t++)
        {
            c.Status($"pipelined, trial {t + 1}/{trials}");
            foreach (bool isRing in t % 2 == 0 ? new[] { true, false } : new[] { false, true })
            {
                var (ops, lat) = await Measure.PipelinedAsync(isRing ? viaRing : viaSocket, InFlight, perSlot);
                (isRing ? rOps : sOps).Add(ops);
                (isRing ? rLat : sLat).AddRange(lat);
                if (isRing) lastRing = ops;
            }
            // Batches of InFlight requests, one batch at a time: as many requests as a pipelined trial.
            var (batches, _) = await Measure.PipelinedAsync(batched, 1, perSlot);
            bOps.Add(batches * InFlight);
            bOverP.Add(batches * InFlight / lastRing);
            c.Progress(0.5 + (t + 1.0) / trials / 2);
        }
        c.Report.Throughput(Name, "ring_pipelined_ops_per_s", rOps, "req/s", rLat, $"GEM_INFO on the ring, {InFlight} in flight");
        c.Report.Throughput(Name, "socket_pipelined_ops_per_s", sOps, "req/s", sLat, $"GEM_INFO on the socket, {InFlight} in flight");
        c.Report.Ratio(Name, "ring_over_socket_pipelined", rOps.Median / sOps.Median, "median / median, alternating trials");
        c.Report.Throughput(Name, "ring_batched_ops_per_s", bOps, "req/s", null, $"GEM_INFO on the ring, DrmBatch of {InFlight}, one batch at a time");
        c.Report.Ratio(Name, "ring_batched_over_pipelined", bOverP, "batched / pipelined on the ring, per trial (a moment apart)");
    }

    /// <summary>
    /// The ring's GEM_INFO interleaved block by block with the C ping-pongs of the limits case
    /// (busy-polled and blocking SEQPACKET), so each ratio is per block of one run.
    /// </summary>
    private async Task AgainstCLimitsAsync(CaseContext c, Func<Task> viaRing)
    {
        var limits = await c.Env.CPingPongAsync();
        if (limits.WhyNot is { } why)
        {
            c.Report.Failed(Name, "ring_over_c_poll", why);
            c.Report.Failed(Name, "ring_over_c_block", why);
            return;
        }
        c.Status("against the C limits");
        var r = await Measure.InterleaveAsync([Measure.Timed(viaRing), limits.SeqpacketPoll, limits.SeqpacketBlock], c.Settings.LimitsPerBlock, c.Settings.LimitsBlocks, c);
        c.Report.Ratio(Name, "ring_over_c_poll", r.Ratio(0, 1), "ring GEM_INFO / C busy-polled SEQPACKET round trip, per block");
        c.Report.Ratio(Name, "ring_over_c_block", r.Ratio(0, 2), "ring GEM_INFO / C blocking SEQPACKET round trip, per block");
    }
}
