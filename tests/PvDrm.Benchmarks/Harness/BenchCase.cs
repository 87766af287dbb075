namespace PvDrm.Benchmarks.Harness;

/// <summary>What a running case can reach: the fixtures, the report, its progress line, cancellation.</summary>
public sealed class CaseContext(BenchEnv env, Report report, Action<string> status, Action<double> progress, CancellationToken ct)
{
    public BenchEnv Env { get; } = env;

    public Settings Settings => Env.Settings;

    public Report Report { get; } = report;

    public CancellationToken Ct { get; } = ct;

    /// <summary>What the case is doing now, for the progress display.</summary>
    public void Status(string text) => status(text);

    /// <summary>How far the case is, 0 to 1.</summary>
    public void Progress(double fraction) => progress(Math.Clamp(fraction, 0, 1));
}

/// <summary>One named case of the benchmark (selectable with --only NAME).</summary>
public abstract class BenchCase
{
    public abstract string Name { get; }

    /// <summary>One line: what it measures.</summary>
    public abstract string Title { get; }

    /// <summary>The JSON keys it produces (for --only's help and a failure's -1 entries).</summary>
    public abstract IReadOnlyList<string> Keys { get; }

    public abstract Task RunAsync(CaseContext c);
}
