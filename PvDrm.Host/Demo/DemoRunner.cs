using System.Text.Json;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Guest.Workloads;
using Serilog.Events;
using Spectre.Console;

namespace PvDrm.Host.Demo;

/// <summary>
/// `pvdrm-host demo`: a host on SoftGpu in this process, one pvdrm-guest proxy process per guest,
/// and one workload process per guest talking to its proxy (so every buffer crosses three
/// processes by descriptor passing). Each workload's result is checked against a CPU reference.
/// Runs once concurrent, once with sequential = on, and prints both.
/// </summary>
internal sealed class DemoRunner
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60), RunTimeout = TimeSpan.FromMinutes(5);

    private readonly int _guests, _size, _iterations;

    public DemoRunner(int guests, int size, int iterations)
    {
        (_guests, _size, _iterations) = (guests, size, iterations);
    }

    private sealed record ModeRun(string Mode, IReadOnlyList<WorkloadResult> Results)
    {
        /// <summary>From the first guest's timed start to the last guest's end: the window they competed in.</summary>
        public double SpanMs => Results.Count == 0 ? 0 : Results.Max(r => r.EndedAtMs) - Results.Min(r => r.StartedAtMs);
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("pvdrm-demo-");
        try
        {
            AnsiConsole.MarkupLine($"[bold]PvDrm demo[/]: {_guests} guests, each {_iterations} verified pushbufs of GEMM {_size}x{_size} + SAXPY + COPY on SoftGpu");
            var runs = new List<ModeRun>();
            await AnsiConsole.Status().StartAsync("starting", async status =>
            {
                foreach (bool sequential in new[] { false, true })
                    runs.Add(await RunModeAsync(dir.FullName, sequential, s => status.Status(s), ct));
            });
            Print(runs);
            return runs.All(r => r.Results.Count == _guests && r.Results.All(x => x.Verified)) ? 0 : 1;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private async Task<ModeRun> RunModeAsync(string dir, bool sequential, Action<string> status, CancellationToken ct)
    {
        string mode = sequential ? "sequential" : "concurrent";
        string hostSocket = Path.Combine(dir, $"host-{mode}.sock");
        var config = PvDrmConfig.Load(null, PvDrmConfig.Overrides(HostSettings.Root,
            ("listen.unix", hostSocket), ("control.unix", Path.Combine(dir, $"control-{mode}.sock")), ("sequential", sequential ? "on" : "off")));
        using var host = HostCommands.BuildHost(config, LogEventLevel.Warning);
        await HostCommands.StartListeningAsync(host, ct);

        var proxies = new List<ChildProcess>();
        var workloads = new List<ChildProcess>();
        try
        {
            status($"{mode}: starting {_guests} guest proxies");
            for (int i = 1; i <= _guests; i++)
                proxies.Add(ChildProcess.Start("pvdrm-guest", "serve", "--host", $"unix:{hostSocket}", "--listen", $"unix:{ProxySocket(dir, mode, i)}", "--name", $"guest-{i}"));
            for (int i = 1; i <= _guests; i++)
                await proxies[i - 1].WaitForFileAsync(ProxySocket(dir, mode, i), StartTimeout);

            status($"{mode}: {_guests} guests running GEMM workloads");
            // Each workload sets up and warms up on its own, then all start their timed part together.
            double startAt = DateTime.UtcNow.Subtract(DateTime.UnixEpoch).TotalMilliseconds + 1500 + 300 * _guests;
            for (int i = 1; i <= _guests; i++)
                workloads.Add(ChildProcess.Start("pvdrm-guest", "run", "gemm", "--host", $"unix:{ProxySocket(dir, mode, i)}", "--name", $"guest-{i}",
                    "--size", $"{_size}", "--iterations", $"{_iterations}", "--seed", $"{i}", "--start-at", $"{startAt:F0}", "--json"));
            var results = new List<WorkloadResult>();
            for (int i = 0; i < workloads.Count; i++)
            {
                await workloads[i].WaitAsync(RunTimeout);
                results.Add(Parse(workloads[i], $"guest-{i + 1}"));
            }
            return new ModeRun(mode, results);
        }
        finally
        {
            status($"{mode}: stopping");
            foreach (var w in workloads) w.Dispose();
            await Task.WhenAll(proxies.Select(p => p.StopAsync(TimeSpan.FromSeconds(10))));
            foreach (var p in proxies) p.Dispose();
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static string ProxySocket(string dir, string mode, int guest) => Path.Combine(dir, $"guest-{guest}-{mode}.sock");

    private static WorkloadResult Parse(ChildProcess process, string guest)
    {
        string line = process.Stdout.Trim().Split('\n').LastOrDefault() ?? "";
        try
        {
            var result = JsonSerializer.Deserialize<WorkloadResult>(line, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
            if (result != null) return result with { Guest = guest };
        }
        catch (JsonException)
        {
        }
        return new WorkloadResult { Guest = guest, Workload = GemmWorkload.Name, Error = $"exit {process.ExitCode}: {process.Stderr.Trim()}" };
    }

    private void Print(IReadOnlyList<ModeRun> runs)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]PvDrm demo results[/]");
        foreach (var c in new[] { "mode", "guest", "data", "requests", "commands", "moved", "time", "GFLOP/s", "result" })
            table.AddColumn(new TableColumn(c) { Alignment = c is "mode" or "guest" or "data" or "result" ? Justify.Left : Justify.Right });
        foreach (var run in runs)
            foreach (var r in run.Results)
                table.AddRow(run.Mode, r.Guest, r.DataPath, $"{r.Requests}", $"{r.Commands}", $"{r.Bytes / 1048576.0:F1} MiB",
                    $"{r.ElapsedMs:F0} ms", $"{r.Gflops:F2}", r.Verified ? "[green]verified[/]" : $"[red]FAILED[/] {Markup.Escape(r.Error ?? "")}");
        AnsiConsole.Write(table);

        foreach (var run in runs)
        {
            double flops = 2.0 * _size * _size * _size * _iterations * run.Results.Count;
            AnsiConsole.MarkupLine($"{run.Mode}: {run.Results.Count(r => r.Verified)}/{_guests} verified; the guests' timed work spanned {run.SpanMs:F0} ms, {flops / run.SpanMs / 1e6:F2} GFLOP/s together");
        }
        if (runs.Count == 2 && runs[0].SpanMs > 0)
            AnsiConsole.MarkupLine($"concurrent mode finished the same work {runs[1].SpanMs / runs[0].SpanMs:F2}x faster than sequential ({Environment.ProcessorCount} cores, {Environment.ProcessorCount} SoftGpu engines)");
    }
}
