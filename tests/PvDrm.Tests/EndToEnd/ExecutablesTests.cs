using System.Text.Json;
using PvDrm.Guest.Workloads;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.EndToEnd;

/// <summary>The built pvdrm-host and pvdrm-guest executables, each a separate process.</summary>
public class ExecutablesTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    private ChildProcess Start(string program, params string[] args) => _run.Start(program, args);

    private Task<ChildProcess> RunToEnd(string program, params string[] args) => _run.Run(program, args);

    private static WorkloadResult Result(ChildProcess run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return JsonSerializer.Deserialize<WorkloadResult>(run.Stdout, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase })!;
    }

    [Fact]
    public async Task Host_proxy_and_workloads_run_as_separate_processes_and_verify()
    {
        File.WriteAllText(_run["host.hocon"], $"pvdrm.host.control.unix = \"{_run["control.sock"]}\"\n");
        var host = Start("pvdrm-host", "serve", "--config", _run["host.hocon"], "--listen", $"unix:{_run["host.sock"]}");
        await host.WaitForFileAsync(_run["host.sock"], Timeout);
        var proxy = Start("pvdrm-guest", "serve", "--host", $"unix:{_run["host.sock"]}", "--listen", $"unix:{_run["vm1.sock"]}", "--name", "vm1");
        await proxy.WaitForFileAsync(_run["vm1.sock"], Timeout);

        var mapped = Result(await RunToEnd("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["vm1.sock"]}", "--size", "96", "--iterations", "2", "--json"));
        var copied = Result(await RunToEnd("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["vm1.sock"]}", "--size", "64", "--copy", "--json"));
        var direct = Result(await RunToEnd("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["host.sock"]}", "--name", "direct", "--size", "32", "--json"));

        Assert.True(mapped.Verified && mapped.DataPath == "map", mapped.Error);
        Assert.True(copied.Verified && copied.DataPath == "copy", copied.Error);
        Assert.True(direct.Verified, direct.Error);

        // SIGTERM: the host stops cleanly, removes its socket and tells its guests, whose proxy then exits.
        host.Signal(SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));
        Assert.False(File.Exists(_run["host.sock"]));
        Assert.Equal(3, await proxy.WaitAsync(Timeout));
        Assert.Contains("host", proxy.Stderr);
    }

    [Fact]
    public async Task A_bad_configuration_value_stops_start_up_with_a_message_naming_the_key()
    {
        File.WriteAllText(_run["bad.hocon"], "pvdrm.host.limits.max-frame = lots\n");

        var host = await RunToEnd("pvdrm-host", "serve", "--config", _run["bad.hocon"], "--listen", $"unix:{_run["host.sock"]}");

        Assert.Equal(2, host.ExitCode);
        Assert.Contains("pvdrm.host.limits.max-frame", host.Stderr);
        Assert.False(File.Exists(_run["host.sock"]));
    }

    [Fact]
    public async Task A_workload_without_a_host_fails_with_a_clear_message()
    {
        var run = await RunToEnd("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["nobody.sock"]}");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cannot connect", run.Stderr);
    }

    [Fact]
    public async Task A_short_soak_kills_guests_at_random_and_reports_nothing_leaked()
    {
        // A smoke run of the soak mode; the real soak runs for minutes and is not part of the suite.
        var soak = await RunToEnd("pvdrm-host", "soak", "--guests", "2", "--duration", "3", "--kill-every", "200", "--size", "64");

        Assert.True(soak.ExitCode == 0, soak.Stdout + soak.Stderr);
        Assert.Contains("nothing leaked", soak.Stdout);
        Assert.Contains("0 / 0 / 0 / 0", soak.Stdout);
    }

    public void Dispose() => _run.Dispose();
}
