using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Guest.Workloads;
using PvDrm.Host.Demo;
using Serilog.Events;
using Spectre.Console;
using static Tmds.Linux.LibC;

namespace PvDrm.Host.Soak;

/// <summary>
/// `pvdrm-host soak`: a host on SoftGpu in this process and many guest workload processes that
/// are SIGKILLed at random and replaced, for a set time. Guests that are not killed must verify;
/// at the end everything is stopped and nothing may be left: no buffer, channel or buffer memfd.
/// Reports requests served, errors by kind and what leaked (exit 1 if anything did).
/// </summary>
internal sealed class SoakRunner
{
    private readonly int _guests;
    private readonly TimeSpan _duration;
    private readonly TimeSpan _killEvery;
    private readonly int _size;
    private readonly Random _random;
    private int _started, _killed, _verified, _failed;

    public SoakRunner(int guests, TimeSpan duration, TimeSpan killEvery, int size, int seed)
    {
        (_guests, _duration, _killEvery, _size) = (guests, duration, killEvery, size);
        _random = new Random(seed);
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("pvdrm-soak-");
        string socket = Path.Combine(dir.FullName, "host.sock"), control = Path.Combine(dir.FullName, "control.sock");
        var config = PvDrmConfig.Load(null, PvDrmConfig.Overrides(HostSettings.Root, ("listen.unix", socket), ("control.unix", control)));
        using var host = HostCommands.BuildHost(config, LogEventLevel.Warning);
        await HostCommands.StartListeningAsync(host, ct);
        var slots = new ChildProcess?[_guests];
        try
        {
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask("soak", maxValue: _duration.TotalSeconds);
                    var end = DateTime.UtcNow + _duration;
                    var nextKill = DateTime.UtcNow + _killEvery;
                    while (DateTime.UtcNow < end && !ct.IsCancellationRequested)
                    {
                        for (int i = 0; i < slots.Length; i++)
                            if (slots[i] is not { HasExited: false }) slots[i] = Replace(slots[i], socket, i);
                        if (DateTime.UtcNow >= nextKill)
                        {
                            if (slots[_random.Next(slots.Length)] is { HasExited: false } victim)
                            {
                                victim.Signal(SIGKILL);
                                victim.Killed = true;
                                _killed++;
                            }
                            nextKill = DateTime.UtcNow + _killEvery;
                        }
                        task.Value = _duration.TotalSeconds - (end - DateTime.UtcNow).TotalSeconds;
                        task.Description = $"soak: {_started} guests started, {_killed} killed, {_verified} verified, {_failed} failed";
                        await Task.Delay(50, CancellationToken.None);
                    }
                    task.Value = task.MaxValue;
                });
        }
        finally
        {
            foreach (var s in slots) s?.Signal(SIGKILL);
            foreach (var s in slots)
                if (s != null)
                {
                    await s.WaitAsync(TimeSpan.FromSeconds(30));
                    s.Dispose();
                }
        }

        var status = await SettledStatus(control);
        int leakedFds = Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget?.StartsWith("/memfd:pvdrm-", StringComparison.Ordinal) == true);
        await host.StopAsync(CancellationToken.None);
        dir.Delete(recursive: true);
        return Report(status, leakedFds);
    }

    private ChildProcess Replace(ChildProcess? finished, string socket, int slot)
    {
        if (finished != null)
        {
            if (!finished.Killed)
            {
                if (finished.ExitCode == 0 && finished.Stdout.Contains("\"verified\":true")) _verified++;
                else
                {
                    _failed++;
                    AnsiConsole.MarkupLineInterpolated($"[red]guest failed[/] (exit {finished.ExitCode}): {finished.Stderr.Trim()}");
                }
            }
            finished.Dispose();
        }
        _started++;
        // Some run briefly and must verify; some run long and are likely to be killed mid-flight.
        int iterations = _random.Next(2) == 0 ? _random.Next(1, 20) : 10_000;
        return ChildProcess.Start("pvdrm-guest", "run", GemmWorkload.Name, "--host", $"unix:{socket}", "--name", $"soak-{slot}-{_started}",
            "--size", $"{_size}", "--iterations", $"{iterations}", "--seed", $"{_started}", "--json");
    }

    /// <summary>Status once every departed guest has been released (or after 30 s, whatever is left then).</summary>
    private static async Task<ControlProtocol.HostStatus> SettledStatus(string control)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = (await ControlClient.SendAsync(control, new ControlProtocol.Request("status"), TimeSpan.FromSeconds(10))).Status!;
            if (status.Guests.Count == 0 && status.Devices.All(d => d.LiveBuffers == 0 && d.LiveChannels == 0) || DateTime.UtcNow > deadline)
                return status;
            await Task.Delay(50);
        }
    }

    private int Report(ControlProtocol.HostStatus status, int leakedFds)
    {
        long buffers = status.Devices.Sum(d => d.LiveBuffers), channels = status.Devices.Sum(d => d.LiveChannels);
        bool leaked = buffers != 0 || channels != 0 || leakedFds != 0 || status.Guests.Count != 0;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]PvDrm soak[/]").AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
        table.AddRow("duration", $"{_duration.TotalSeconds:F0} s, {_guests} guests at a time, one SIGKILL every {_killEvery.TotalMilliseconds:F0} ms");
        table.AddRow("guests started / killed", $"{_started} / {_killed}");
        table.AddRow("guests that ran to the end: verified / failed", $"{_verified} / {_failed}");
        table.AddRow("requests served", $"{status.Totals.Served}");
        table.AddRow("errors by kind", status.Totals.Errors.Count == 0 ? "none" : string.Join(", ", status.Totals.Errors.Select(e => $"{e.Key} {e.Value}")));
        table.AddRow("leaked: buffers / channels / memfds / guests", $"{buffers} / {channels} / {leakedFds} / {status.Guests.Count}");
        table.AddRow("result", leaked || _failed > 0 ? "[red]FAILED[/]" : "[green]nothing leaked, every surviving guest verified[/]");
        AnsiConsole.Write(table);
        return leaked || _failed > 0 ? 1 : 0;
    }
}
