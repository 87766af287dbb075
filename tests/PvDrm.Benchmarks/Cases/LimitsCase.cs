using PvDrm.Benchmarks.Harness;
using PvDrm.Native.Gpu;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// PvDrm's socket round trips against the physical limits of the same run: C ping-pongs of 32-byte
/// messages between two processes (Limits/*.c) over a blocking SOCK_SEQPACKET pair, the same pair
/// busy-polled, and a cache line in shared memory. GEM_INFO goes through the host's actors,
/// GET_PARAM is answered on its I/O loop: both are shown, all five paths interleaved block by block.
/// </summary>
public sealed class LimitsCase : BenchCase
{
    public override string Name => "limits";

    public override string Title => "GEM_INFO and GET_PARAM over the socket vs C ping-pongs (blocking, polled SEQPACKET; shared memory)";

    public override IReadOnlyList<string> Keys =>
    [
        "socket_gem_info_rtt_us", "socket_get_param_rtt_us", "socket_gem_info_over_get_param",
        "c_seqpacket_block_rtt_us", "c_seqpacket_poll_rtt_us", "c_shm_spin_rtt_us",
        "socket_gem_info_over_c_block", "socket_gem_info_over_c_poll", "socket_get_param_over_c_poll",
    ];

    private static readonly string[] s_cKeys =
    [
        "c_seqpacket_block_rtt_us", "c_seqpacket_poll_rtt_us", "c_shm_spin_rtt_us",
        "socket_gem_info_over_c_block", "socket_gem_info_over_c_poll", "socket_get_param_over_c_poll",
    ];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host, compiling the C ping-pongs");
        // Its figures are the socket's (the ring case has the ring's): a client that keeps to the socket.
        var client = await c.Env.ConnectAsync((await c.Env.MainHostAsync()).Endpoint, "bench-limits", ring: false);
        var limits = await c.Env.CPingPongAsync();
        await using var context = await client.OpenContextAsync();
        var gem = await context.GemNewAsync(4096);

        var paths = new List<BlockPath> { Measure.Timed(() => gem.InfoAsync()), Measure.Timed(() => client.GetParamAsync(DeviceParam.GraphUnits)) };
        if (limits.WhyNot == null) paths.AddRange([limits.SeqpacketBlock, limits.SeqpacketPoll, limits.ShmSpin]);
        c.Status("measuring");
        var r = await Measure.InterleaveAsync(paths, c.Settings.LimitsPerBlock, c.Settings.LimitsBlocks, c);

        c.Report.Latency(Name, "socket_gem_info_rtt_us", r.All(0), "GEM_INFO: DrmClient -> pvdrm-host over the socket, through the GEM actor");
        c.Report.Latency(Name, "socket_get_param_rtt_us", r.All(1), "GET_PARAM: the same socket, answered on the host's I/O loop");
        c.Report.Ratio(Name, "socket_gem_info_over_get_param", r.Ratio(0, 1), "GEM_INFO / GET_PARAM per block: what the actors add");
        if (limits.WhyNot is { } why)
        {
            foreach (var key in s_cKeys) c.Report.Failed(Name, key, why);
            c.Report.Note($"limits: the C ping-pongs did not run: {why}");
            return;
        }
        c.Report.Latency(Name, "c_seqpacket_block_rtt_us", r.All(2), "C, 32 B over a SOCK_SEQPACKET pair, recv sleeps (Limits/seqpacket_pingpong.c block)");
        c.Report.Latency(Name, "c_seqpacket_poll_rtt_us", r.All(3), "C, the same pair, recv(MSG_DONTWAIT) spinning (seqpacket_pingpong.c poll)");
        c.Report.Latency(Name, "c_shm_spin_rtt_us", r.All(4), $"C, one cache line in shared memory; samples are means of {CPingPong.ShmBatch} (shm_pingpong.c)");
        c.Report.Ratio(Name, "socket_gem_info_over_c_block", r.Ratio(0, 2), "GEM_INFO / C blocking SEQPACKET, per block");
        c.Report.Ratio(Name, "socket_gem_info_over_c_poll", r.Ratio(0, 3), "GEM_INFO / C busy-polled SEQPACKET, per block");
        c.Report.Ratio(Name, "socket_get_param_over_c_poll", r.Ratio(1, 3), "GET_PARAM / C busy-polled SEQPACKET, per block");
    }
}
