using System.Text.Json;
using PvDrm.Benchmarks.Harness;

namespace PvDrm.Tests.Benchmarks;

/// <summary>
/// pvdrm-bench --check: which goals of Harness/Goals.cs a run's figures miss. The figures are fed
/// in; nothing is timed.
/// </summary>
public class BenchCheckTests
{
    [Fact]
    public void A_figure_beyond_its_goal_is_a_missed_goal_that_names_the_figure_and_the_goal()
    {
        var report = new Report();
        report.Ratio("rtt", "rtt_ratio_vs_raw", new Samples([1.9, 2.0, 2.1]), "note"); // goal <= 1.5

        var missed = report.MissedGoals(["rtt"]);

        var line = Assert.Single(missed);
        Assert.Contains("rtt_ratio_vs_raw = 2", line);
        Assert.Contains("<= 1.5", line);
        Assert.Equal(1, report.GoalsMissed);
    }

    [Fact]
    public void Figures_within_their_goals_miss_nothing()
    {
        var report = new Report();
        report.Ratio("rtt", "rtt_ratio_vs_raw", new Samples([1.0, 1.1, 1.2]), "note");
        report.Ratio("grpc", "grpc_over_pvdrm", new Samples([5.5, 6, 7]), "note");

        Assert.Empty(report.MissedGoals(["rtt", "grpc"]));
        Assert.Equal(2, report.GoalsMet);
    }

    [Fact]
    public void A_goal_is_checked_only_when_its_case_ran_and_then_a_figure_never_reported_is_missed()
    {
        var report = new Report();
        report.Ratio("rtt", "rtt_ratio_vs_raw", new Samples([1.0]), "note");
        report.Ratio("grpc", "grpc_over_pvdrm", new Samples([2.0]), "note"); // goal >= 5

        Assert.Empty(report.MissedGoals(["rtt"]));                            // --only rtt
        Assert.Contains("grpc_over_pvdrm = 2", Assert.Single(report.MissedGoals(["rtt", "grpc"])));
        Assert.Contains("gemm_overhead = not reported", Assert.Single(report.MissedGoals(["gemm"])));
    }

    [Fact]
    public void A_goal_whose_figure_was_not_measured_is_missed_with_the_reason_and_the_json_holds_null()
    {
        var report = new Report();
        report.Failed("gemm", "gemm_overhead", "case failed: the host exited");

        var line = Assert.Single(report.MissedGoals(["gemm"]));
        Assert.Contains("the host exited", line);
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("gemm_overhead").ValueKind);
        Assert.Equal("case failed: the host exited", json.RootElement.GetProperty("why_null").GetProperty("gemm_overhead").GetString());
    }

    [Fact]
    public void A_reduction_over_zero_requests_is_null_with_a_reason_never_minus_one_and_meets_an_at_least_goal()
    {
        var report = new Report();
        report.Unbounded("cache", "cache_roundtrip_reduction", 2100, "the cached proxy made no host request", "note"); // goal >= 10

        Assert.Empty(report.MissedGoals(["cache"]));
        Assert.Null(report.Get("cache_roundtrip_reduction"));
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("cache_roundtrip_reduction").ValueKind);
        Assert.Equal(2100, json.RootElement.GetProperty("cache_roundtrip_reduction_at_least").GetDouble());
        Assert.DoesNotContain("-1", json.RootElement.GetRawText());
    }

    [Fact]
    public void A_value_that_is_not_a_number_is_written_as_null()
    {
        var report = new Report();
        report.Set("host_bytes_per_gem_partial", double.NaN);

        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("host_bytes_per_gem_partial").ValueKind);
        Assert.True(json.RootElement.GetProperty("why_null").TryGetProperty("host_bytes_per_gem_partial", out _));
    }

    [Fact]
    public void Every_goal_names_a_distinct_figure()
    {
        var figures = Goals.Table.Select(g => g.Figure).ToList();

        Assert.Equal(figures.Count, figures.Distinct().Count());
    }
}
