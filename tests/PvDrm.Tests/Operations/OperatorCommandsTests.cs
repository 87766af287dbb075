using System.Text.Json;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Host.Demo;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// An operator's session against a running pvdrm-host, every step a real process: status (table,
/// JSON, watch), the mode switch, eviction, the metrics address, and JSON logs with guest properties.
/// </summary>
public class OperatorCommandsTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    private ChildProcess Start(string program, params string[] args) => _run.Start(program, args);

    /// <summary>Runs an admin command against the host of this test and returns it when it has exited.</summary>
    private Task<ChildProcess> Admin(params string[] args) => _run.Run("pvdrm-host", [.. args, "--config", _run["host.hocon"]]);

    private async Task<ControlProtocol.HostStatus> StatusJson()
    {
        var run = await Admin("status", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);
        return JsonSerializer.Deserialize<ControlProtocol.HostStatus>(run.Stdout, ControlProtocol.Json)!;
    }

    [Fact]
    public async Task An_operator_can_watch_switch_mode_find_metrics_and_evict_on_a_running_host()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              metrics.listen = "127.0.0.1:0"
            }
            """);
        var host = Start("pvdrm-host", "serve", "--config", _run["host.hocon"], "--log-format", "json");
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
        await host.WaitForFileAsync(_run["host.sock"], Timeout); // made after the control socket
        // The guest: a client over the real socket that keeps working until it is evicted.
        await using var guest = await DrmClient.ConnectAsync($"unix:{_run["host.sock"]}", new DrmClientOptions { Name = "vm1" });
        var work = Task.Run(async () =>
        {
            var ctx = await guest.OpenContextAsync();
            while (true) await Verified.FillAndCheck(ctx, 7);
        });

        var status = await StatusJson();
        for (var until = DateTime.UtcNow + Timeout; status.Guests.SingleOrDefault(g => g.Name == "vm1") is not { Served: > 10 }; status = await StatusJson())
            Assert.True(DateTime.UtcNow < until, "vm1 never showed up with requests served");
        var vm1 = status.Guests.Single();
        Assert.Equal(("concurrent", "unix"), (status.Mode, vm1.Transport));
        Assert.True(vm1.Latency.Count > 0 && vm1.Latency.P99Us > 0, $"{vm1.Latency}");

        var watch = await Admin("status", "--watch", "--count", "2", "--interval", "0.1");
        Assert.True(watch.ExitCode == 0, watch.Stderr);
        Assert.Equal(2, watch.Stdout.Split("PvDrm host:").Length - 1);
        Assert.Contains("vm1", watch.Stdout);

        using (var http = new HttpClient { Timeout = Timeout })
            Assert.Contains("pvdrm_requests_total{guest=\"vm1\",op=\"GEM_NEW\",status=\"ok\"}", await http.GetStringAsync(status.MetricsUrl));

        var set = await Admin("set", "sequential", "on");
        Assert.True(set.ExitCode == 0, set.Stderr);
        Assert.Contains("sequential mode is on", set.Stdout);
        Assert.Equal("sequential", (await StatusJson()).Mode);

        var evict = await Admin("evict", "vm1");
        Assert.True(evict.ExitCode == 0, evict.Stderr);
        var ended = await Assert.ThrowsAsync<DrmException>(() => work.WaitAsync(Timeout));
        Assert.Equal(Errno.ECONNRESET, ended.Errno);
        Assert.Contains("evicted by the operator", guest.EndReason);
        var missing = await Admin("evict", "vm1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no guest named 'vm1'", missing.Stderr);

        host.Signal(Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));
        // Every log line is a compact JSON object (@t, @m, @l, then the properties); guest events
        // carry the guest as a property.
        var events = host.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(events, e => Assert.True(e.TryGetProperty("@t", out _) && e.TryGetProperty("@m", out _), e.ToString()));
        Assert.Contains(events, e => e.GetProperty("@m").GetString()!.Contains("admitted")
            && e.TryGetProperty("Guest", out var g) && g.GetString() == "vm1");
        Assert.Contains(events, e => e.TryGetProperty("@l", out var level) && level.GetString() == "Warning"
            && e.TryGetProperty("Guest", out var g) && g.GetString() == "vm1"
            && e.GetProperty("@m").GetString()!.Contains("evicted"));
    }

    /// <summary>
    /// Under systemd, stderr is the journal's stream and JOURNAL_STREAM names it: text lines then
    /// start with their syslog severity instead of a timestamp, so `journalctl -p` can filter.
    /// </summary>
    [Fact]
    public async Task Text_logs_to_the_journal_start_with_their_syslog_severity()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
            }
            pvdrm.log.level = info
            """);
        string dll = Path.Combine(AppContext.BaseDirectory, "pvdrm-host.dll");
        // The stream is a file here: JOURNAL_STREAM is set to its device and inode, as systemd does for its socket.
        var host = Start("/bin/sh", "-c",
            "exec 2>\"$1\"; export JOURNAL_STREAM=\"$(stat -L -c %d:%i /proc/self/fd/2)\"; exec dotnet \"$2\" serve --config \"$3\"",
            "sh", _run["journal.log"], dll, _run["host.hocon"]);
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
        await host.WaitForFileAsync(_run["host.sock"], Timeout);
        host.Signal(Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));

        var lines = File.ReadAllLines(_run["journal.log"]).Where(l => l.Length > 0).ToList();
        Assert.Contains(lines, l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains("PvDrm host ready"));
        Assert.All(lines.Where(l => !char.IsWhiteSpace(l[0])), l => Assert.Matches("^<[2-7]>", l));
    }

    /// <summary>
    /// The switch waits for in-flight work for up to the host's request timeout, and the whole path
    /// waits as long: the control actor (request timeout plus a margin), the control socket (a
    /// progress frame every second) and the command line (which shows it). Here the drain outlasts
    /// the ten seconds the control actor once allowed, and the switch is still answered.
    /// </summary>
    [Fact]
    public async Task A_mode_switch_waits_for_a_long_drain_and_shows_its_progress()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              limits.request-timeout = 40 s
              soft-gpu.semaphore-timeout = 60 s
            }
            """);
        var host = Start("pvdrm-host", "serve", "--config", _run["host.hocon"]);
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
        await host.WaitForFileAsync(_run["host.sock"], Timeout); // made after the control socket
        // In flight: a pushbuf waiting on a semaphore that only the test releases, through a mapping (no request).
        await using var guest = await DrmClient.ConnectAsync($"unix:{_run["host.sock"]}", new DrmClientOptions { Name = "vm1" });
        var ctx = await guest.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await ctx.GemNewAsync(4096);
        ulong fence = await ctx.SubmitAsync(await ctx.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 0x77));

        var set = Start("pvdrm-host", "set", "sequential", "on", "--config", _run["host.hocon"]);
        // The command's own progress lines say how long the drain has run: past the old 10 s limit, release it.
        var progress = new System.Text.RegularExpressions.Regex(@"waiting for in-flight work to drain: (\d+) s \(the host answers within 45 s\)");
        for (var until = DateTime.UtcNow + Timeout; ; await Task.Delay(100))
        {
            var seconds = progress.Matches(set.Stderr).Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
            if (seconds > 11) break;
            if (set.HasExited) Assert.Fail($"set exited ({set.ExitCode}) while the host still drained: {set.Stdout}{set.Stderr}");
            Assert.True(DateTime.UtcNow < until, $"no progress past 11 s: {set.Stderr}");
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(release.Bytes(0, 4), 1);

        Assert.True(await set.WaitAsync(Timeout) == 0, set.Stderr);
        Assert.Contains("sequential mode is on", set.Stdout);
        await ctx.FenceWaitAsync(fence);
        Assert.Equal("sequential", (await StatusJson()).Mode);
        host.Signal(Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));
    }

    public void Dispose() => _run.Dispose();
}
