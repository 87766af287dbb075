using PvDrm.Native.Gpu;

namespace PvDrm.Native.Tests;

/// <summary>Budgets reserve by compare-and-swap: no amount wraps them, and no race passes the limit.</summary>
public class BudgetTests
{
    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(ulong.MaxValue - 4095)]
    [InlineData((ulong)long.MaxValue + 1)]
    [InlineData((1UL << 20) + 1)]
    public void An_amount_over_the_limit_is_refused_and_takes_nothing(ulong amount)
    {
        var budget = new Budget("limits.test", 1 << 20);
        Assert.False(budget.TryTake(amount));
        Assert.Equal(0, budget.Used);
        Assert.True(budget.TryTake(1 << 20));
        Assert.False(budget.TryTake(1));
    }

    [Fact]
    public async Task Racing_takes_never_pass_the_limit_not_even_for_an_instant()
    {
        const long limit = 1 << 20;
        var budget = new Budget("limits.test", limit);
        Assert.True(budget.TryTake(limit - 4096));
        const int rounds = 200_000;
        long highest = 0, granted = 0;
        var tasks = new[]
        {
            // Huge asks that a wrapping counter would add as negative numbers.
            Task.Run(() => { for (int i = 0; i < rounds; i++) Assert.False(budget.TryTake(ulong.MaxValue - 4095)); }),
            Task.Run(() => { for (int i = 0; i < rounds; i++) Assert.False(budget.TryTake((ulong)long.MaxValue + 4096)); }),
            // Small asks that fit only while nobody else holds the last page.
            Task.Run(() =>
            {
                for (int i = 0; i < rounds; i++)
                    if (budget.TryTake(4096))
                    {
                        Interlocked.Increment(ref granted);
                        budget.Return(4096);
                    }
            }),
            Task.Run(() =>
            {
                for (int i = 0; i < rounds; i++)
                {
                    long seen = budget.Used;
                    if (seen > Interlocked.Read(ref highest)) Interlocked.Exchange(ref highest, seen);
                    Assert.False(budget.TryTake(8192), "8 KiB was granted with only 4 KiB left");
                }
            }),
        };
        await Task.WhenAll(tasks);
        Assert.InRange(highest, limit - 4096, limit);
        Assert.True(granted > 0);
        Assert.Equal(limit - 4096, budget.Used);
    }

    [Fact]
    public void Returning_more_than_was_taken_is_a_bug_not_a_credit()
    {
        var budget = new Budget("limits.test", 10);
        Assert.True(budget.TryTake(3));
        Assert.Throws<InvalidOperationException>(() => budget.Return(4));
    }
}
