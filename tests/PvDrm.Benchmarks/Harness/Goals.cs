namespace PvDrm.Benchmarks.Harness;

/// <summary>
/// Every goal the benchmark holds a figure to, in one place: the table shows them, `--check`
/// exits 1 when one of a case that ran is missed. A new goal is one line here:
/// <c>new("case", "figure_key", Goal.AtMost(2), "issue N"),</c> (the case name as in --list).
/// Figures not listed are reported only.
/// </summary>
public static class Goals
{
    public static readonly IReadOnlyList<GoalRow> Table =
    [
        // issue 5: PvDrm against its baselines.
        new("rtt", "rtt_ratio_vs_raw", Goal.AtMost(1.5), "issue 5"),
        new("grpc", "grpc_over_pvdrm", Goal.AtLeast(5), "issue 5"),
        new("akka", "akka_remote_over_pvdrm", Goal.AtLeast(5), "issue 5"),
        new("pipelined", "pipelined_ratio_vs_raw", Goal.AtLeast(0.5), "issue 5"),
        new("scaling", "guests_scaling", Goal.AtLeast(1), "issue 5 (no collapse)"),
        new("cache", "cache_roundtrip_reduction", Goal.AtLeast(10), "issue 5"),
        new("map", "map_ratio_vs_memcpy", Goal.AtLeast(0.9), "issue 5"),
        new("gemm", "gemm_overhead", Goal.AtMost(1.05), "issue 5"),
        new("concurrent", "concurrent_over_sequential", Goal.AtLeast(1.6), "issue 5 (2 cores)"),
        new("memory", "host_bytes_per_gem", Goal.AtMost(2048), "issue 5"),

        // issue 17: the ring's goals go here, beside the C ping-pong figures of the `limits` case.
        new("ring", "ring_over_c_poll", Goal.AtMost(2), "issue 17"),
        new("ring", "ring_over_c_block", Goal.AtMost(1), "issue 17 (polling off)"),
        new("ring", "ring_pipelined_ops_per_s", Goal.AtLeast(500_000), "issue 17"),
        new("ring-proxy", "ring_proxy_over_c_poll", Goal.AtMost(4), "issue 17"),
    ];

    /// <summary>The goal of <paramref name="figure"/>, or null when it is reported only.</summary>
    public static Goal? For(string figure) => Table.FirstOrDefault(g => g.Figure == figure)?.Goal;
}
