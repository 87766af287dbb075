using System.Diagnostics;
using PvDrm.Benchmarks.Cases;
using PvDrm.Benchmarks.Harness;
using Spectre.Console;

namespace PvDrm.Benchmarks;

/// <summary>
/// Runs the selected cases in one process run, shows progress, prints the table and writes the
/// JSON; with <c>check</c>, a missed goal (Harness/Goals.cs) makes the exit code 1.
/// </summary>
internal sealed class BenchRunner(bool quick, string? jsonPath, string[]? only, bool check = false)
{
    /// <summary>Every case, in the order they run. A new case is one more entry here (its goals go in Harness/Goals.cs).</summary>
    public static readonly IReadOnlyList<BenchCase> AllCases =
    [
        new RttCase(), new LimitsCase(), new ProxyCase(), new PipelinedCase(), new GrpcCase(), new AkkaCase(), new GemNewCase(),
        new ScalingCase(), new CacheCase(), new MapCase(), new CopyCase(), new GemmCase(), new ConcurrentCase(), new HostMemoryCase(),
        new CodecCase(), new RedirectCase(), new VmCase(),
        new RingCase(), new RingProxyCase(),
    ];

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var unknown = only?.Where(n => AllCases.All(c => c.Name != n)).ToList() ?? [];
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"pvdrm-bench: unknown case(s) {string.Join(", ", unknown)}; the cases are {string.Join(", ", AllCases.Select(c => c.Name))}");
            return 2;
        }
        var cases = AllCases.Where(c => only == null || only.Contains(c.Name)).ToList();
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);

        var settings = new Settings(quick);
        var report = new Report();
        var failures = new List<string>();
        var foreignLoad = new List<string>();
        var clock = Stopwatch.StartNew();
        AnsiConsole.MarkupLine($"[bold]pvdrm-bench[/] ({(quick ? "quick" : "full")} mode): {cases.Count} case(s) on {Environment.ProcessorCount} cores");

        // `dotnet run` may still be finishing its build (MSBuild nodes exiting) when we start:
        // wait, up to 6 s, until other processes take less than 0.15 cores over half a second.
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(6))
        {
            var probe = CpuLoad.Start(() => []);
            await Task.Delay(500, ct);
            if (probe.ForeignCores() < 0.15) break;
        }
        report.Set("settle_seconds", settle.Elapsed.TotalSeconds);

        await using (var env = new BenchEnv(settings))
        {
            try
            {
                await AnsiConsole.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var tasks = cases.Select(c => progress.AddTask(Label(c, "waiting"), autoStart: false, maxValue: 1)).ToList();
                        for (int i = 0; i < cases.Count; i++)
                        {
                            ct.ThrowIfCancellationRequested();
                            var bc = cases[i];
                            var task = tasks[i];
                            task.StartTask();
                            var context = new CaseContext(env, report, s => task.Description = Label(bc, s), f => task.Value = f, ct);
                            var started = Stopwatch.StartNew();
                            var load = CpuLoad.Start(env.LiveChildren);
                            try
                            {
                                await bc.RunAsync(context);
                                task.Description = Label(bc, $"done in {started.Elapsed.TotalSeconds:F1} s");
                            }
                            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                            {
                                failures.Add($"{bc.Name}: {e.GetType().Name}: {e.Message}");
                                foreach (var key in bc.Keys.Where(k => report.Figures.All(f => f.Key != k)))
                                    report.Failed(bc.Name, key, $"case failed: {e.Message}");
                                task.Description = Label(bc, "FAILED");
                            }
                            report.Set($"case_{bc.Name}_seconds", started.Elapsed.TotalSeconds);
                            double foreign = load.ForeignCores();
                            report.Set($"case_{bc.Name}_other_cpu_cores", foreign);
                            foreignLoad.Add($"{bc.Name} {foreign:F2}");
                            task.Value = 1;
                            task.StopTask();
                        }
                    });
            }
            finally
            {
                AnsiConsole.MarkupLine("[grey]stopping child processes[/]");
            }
        }

        report.Set("quick", quick ? 1 : 0);
        report.Set("cores", Environment.ProcessorCount);
        report.Set("elapsed_s", clock.Elapsed.TotalSeconds);
        AnsiConsole.Write(report.ToTable($"[bold]PvDrm benchmarks[/] ({(quick ? "quick" : "full")} mode, {Environment.ProcessorCount} cores, {clock.Elapsed.TotalSeconds:F0} s)"));
        AnsiConsole.MarkupLine($"goals met: {report.GoalsMet}, not met: {report.GoalsMissed}. Medians; p99 by nearest rank; " +
            "ratios per interleaved block (or pair of trials), their median and interquartile range.");
        AnsiConsole.MarkupLine($"CPU taken by other processes during each case (cores of {Environment.ProcessorCount}): {string.Join(", ", foreignLoad)}");
        foreach (var note in report.Notes) AnsiConsole.MarkupLine($"[yellow]note[/] {Markup.Escape(note)}");
        foreach (var f in failures) AnsiConsole.MarkupLine($"[red]failed[/] {Markup.Escape(f)}");
        if (jsonPath != null)
        {
            await File.WriteAllTextAsync(jsonPath, report.ToJson() + "\n", CancellationToken.None);
            AnsiConsole.MarkupLine($"figures written to {Markup.Escape(jsonPath)}");
        }
        var missed = report.MissedGoals(cases.Select(c => c.Name));
        if (check)
        {
            foreach (var m in missed) AnsiConsole.MarkupLine($"[red]goal missed[/] {Markup.Escape(m)}");
            AnsiConsole.MarkupLine(missed.Count == 0 ? "--check: every goal of the cases run was met" : $"--check: {missed.Count} goal(s) missed");
        }
        return failures.Count > 0 || (check && missed.Count > 0) ? 1 : 0;
    }

    private static string Label(BenchCase c, string status) => $"[bold]{c.Name,-10}[/] {Markup.Escape(status)}";
}
