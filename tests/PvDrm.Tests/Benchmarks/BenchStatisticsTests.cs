using PvDrm.Benchmarks.Harness;

namespace PvDrm.Tests.Benchmarks;

/// <summary>pvdrm-bench's statistics on fixed numbers: median, interquartile range, ratios per interleaved block.</summary>
public class BenchStatisticsTests
{
    [Fact]
    public void Median_and_interquartile_range_of_an_odd_count()
    {
        var s = new Samples([9, 1, 8, 2, 7, 3, 6, 4, 5]);

        Assert.Equal(5, s.Median);
        Assert.Equal(3, s.Quantile(0.25));
        Assert.Equal(7, s.Quantile(0.75));
        Assert.Equal(4, s.Iqr);
    }

    [Fact]
    public void Quartiles_of_an_even_count_are_interpolated_between_ranks()
    {
        var s = new Samples([4, 1, 3, 2]);

        Assert.Equal(2.5, s.Median);
        Assert.Equal(1.75, s.Quantile(0.25), 10);
        Assert.Equal(3.25, s.Quantile(0.75), 10);
        Assert.Equal(1.5, s.Iqr, 10);
    }

    [Fact]
    public void A_ratio_is_taken_within_each_block_then_summarized_over_the_blocks()
    {
        var run = new Interleaved(paths: 2);
        // Block 1: medians 4 and 2; block 2: 9 and 3; block 3: 10 and 10.
        run.Add(0, new Samples([2, 4, 6]));
        run.Add(1, new Samples([1, 2, 3]));
        run.Add(0, new Samples([9]));
        run.Add(1, new Samples([3]));
        run.Add(0, new Samples([10, 10]));
        run.Add(1, new Samples([10, 10]));

        var ratios = run.Ratio(0, 1);

        Assert.Equal(3, run.Blocks);
        Assert.Equal(3, ratios.Count);
        Assert.Equal(2, ratios.Median);                  // of the block ratios 1, 2, 3
        Assert.Equal(1, ratios.Iqr, 10);                 // 2.5 - 1.5
        Assert.Equal(6, run.All(0).Count);
        Assert.Equal(1.0 / 2, run.Ratio(1, 0).Median);   // the other way round: 1/3, 1/2, 1
    }

    [Fact]
    public void A_block_whose_denominator_is_zero_is_left_out_of_the_ratio()
    {
        var ratios = Interleaved.RatiosPerBlock([new Samples([6]), new Samples([5])], [new Samples([3]), new Samples([0])]);

        Assert.Equal(1, ratios.Count);
        Assert.Equal(2, ratios.Median);
    }

    [Fact]
    public void A_ratio_figure_carries_its_interquartile_range_and_block_count_in_the_json()
    {
        var report = new Report();

        report.Ratio("rtt", "rtt_ratio_vs_raw", new Samples([1.0, 1.1, 1.2, 1.3, 1.4]), "note");

        Assert.Equal(1.2, report.Get("rtt_ratio_vs_raw"));
        Assert.Equal(0.2, report.Get("rtt_ratio_vs_raw_iqr")!.Value, 10);
        Assert.Equal(5, report.Get("rtt_ratio_vs_raw_blocks"));
        Assert.Contains("\"rtt_ratio_vs_raw_iqr\": 0.2", report.ToJson());
    }
}
