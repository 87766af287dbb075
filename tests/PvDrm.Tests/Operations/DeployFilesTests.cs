using PvDrm.Cli;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;

namespace PvDrm.Tests.Operations;

/// <summary>deploy/: the sample configurations name every key and load, and the systemd units are valid.</summary>
public class DeployFilesTests
{
    private static readonly string Deploy = Path.Combine(Support.Repository.Root, "deploy");

    [Theory]
    [InlineData("pvdrm-host.hocon", "pvdrm.host")]
    [InlineData("pvdrm-guest.hocon", "pvdrm.guest")]
    [InlineData("pvdrm-host.hocon", "pvdrm.k8s")]
    public void A_sample_configuration_sets_every_key_with_a_comment_and_loads(string file, string root)
    {
        string path = Path.Combine(Deploy, file);
        var sample = ConfigurationFactory.ParseString(File.ReadAllText(path));
        string[] lines = File.ReadAllLines(path);

        foreach (string prefix in new[] { root, "pvdrm.log" })
            foreach (string key in LeafKeys(PvDrmConfig.Reference.GetConfig(prefix).Root, prefix))
            {
                Assert.True(sample.HasPath(key), $"{file} does not set {key}");
                string leaf = key[(key.LastIndexOf('.') + 1)..];
                var keyLine = new System.Text.RegularExpressions.Regex($@"^\s*([a-z-]+\.)*{leaf}\s*=");
                int at = Array.FindIndex(lines, keyLine.IsMatch);
                Assert.True(at >= 0 && Commented(lines, at), $"{file}: {key} has no comment");
            }
        var loaded = PvDrmConfig.Load(path);
        if (root == "pvdrm.host") Assert.Equal("127.0.0.1:9464", HostSettings.Create(loaded).MetricsListen);
        else if (root == "pvdrm.k8s") Assert.Equal("pvdrm.io/gpu", global::PvDrm.Host.Containers.ContainerSettings.Create(loaded).ResourceName);
        else Assert.Equal("/run/pvdrm/guest-control.sock", ProxySettings.Create(loaded).ControlUnix);
        Assert.Equal("text", PvDrmApplication.LogSettings(loaded).Format);
    }

    [SystemdAnalyzeFact]
    public void The_systemd_units_pass_systemd_analyze_verify()
    {
        using var dir = new Support.TempDir();
        var units = new List<string>();
        foreach (string unit in new[] { "pvdrm-host.service", "pvdrm-guest.service" })
        {
            // Point ExecStart at the executables this build made (verify checks that they exist).
            string text = File.ReadAllText(Path.Combine(Deploy, "systemd", unit)).Replace("/usr/lib/pvdrm/", System.AppContext.BaseDirectory);
            File.WriteAllText(dir[unit], text);
            units.Add(dir[unit]);
        }
        var psi = new System.Diagnostics.ProcessStartInfo(SystemdAnalyzeFactAttribute.Path!, ["verify", "--man=no", .. units])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var verify = System.Diagnostics.Process.Start(psi)!;
        string output = verify.StandardOutput.ReadToEnd() + verify.StandardError.ReadToEnd();
        verify.WaitForExit();
        // Not running under systemd here, so complaints about the system's own units may appear; ours must have none.
        Assert.DoesNotContain(output.Split('\n'), l => l.Contains("pvdrm-"));
        Assert.True(verify.ExitCode == 0, $"systemd-analyze verify exited with {verify.ExitCode}: {output}");
    }

    [Theory]
    [InlineData("pvdrm-host.service", "pvdrm-host", "pvdrm-tokens:/etc/pvdrm/tokens")]
    [InlineData("pvdrm-guest.service", "pvdrm-guest", "pvdrm-token:/etc/pvdrm/guest.token")]
    public void A_unit_waits_for_readiness_feeds_a_watchdog_and_never_restarts_a_bad_configuration(string unit, string program, string credential)
    {
        var lines = File.ReadAllLines(Path.Combine(Deploy, "systemd", unit)).Select(l => l.Trim()).ToArray();

        Assert.Contains("Type=notify", lines);
        Assert.Contains(lines, l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
        // systemd applies RestartPreventExitStatus to the main process only: serve itself exits 2 on a bad configuration.
        Assert.Contains("RestartPreventExitStatus=2", lines);
        Assert.Contains($"ExecStartPre=-/usr/lib/pvdrm/{program} config check --config /etc/pvdrm/{program}.hocon", lines);
        Assert.Contains($"ExecStart=/usr/lib/pvdrm/{program} serve --config /etc/pvdrm/{program}.hocon", lines);
        Assert.Contains($"LoadCredential={credential}", lines);
        Assert.Contains("After=network-online.target", lines);
        Assert.Contains("Wants=network-online.target", lines);
        if (program == "pvdrm-guest")
        {
            Assert.Contains("StartLimitIntervalSec=0", lines);
            Assert.Contains("TimeoutStartSec=infinity", lines);
        }
    }

    [Fact]
    public async Task Serve_exits_2_on_a_bad_configuration_as_the_units_expect()
    {
        using var processes = new Support.Processes();
        File.WriteAllText(processes["bad.hocon"], "pvdrm.host.limits.max-frame = lots\n");
        var host = await processes.Run("pvdrm-host", "serve", "--config", processes["bad.hocon"]);
        Assert.Equal(CommandErrors.BadConfiguration, host.ExitCode);
        Assert.Contains("pvdrm.host.limits.max-frame", host.Stderr);

        File.WriteAllText(processes["bad-guest.hocon"], "pvdrm.guest.connect-backoff = never\n");
        var guest = await processes.Run("pvdrm-guest", "serve", "--config", processes["bad-guest.hocon"]);
        Assert.Equal(CommandErrors.BadConfiguration, guest.ExitCode);
        Assert.Contains("pvdrm.guest.connect-backoff", guest.Stderr);
    }

    /// <summary>A comment on the key's line, or above it with only keys and block openers between (a comment may cover several keys).</summary>
    private static bool Commented(string[] lines, int at)
    {
        if (lines[at].Contains('#')) return true;
        for (int i = at - 1; i >= 0; i--)
        {
            string line = lines[i].Trim();
            if (line.StartsWith('#')) return true;
            if (line.Length == 0 || line.StartsWith('}')) return false;
        }
        return false;
    }

    private static IEnumerable<string> LeafKeys(HoconValue value, string path) =>
        value.IsObject()
            ? value.GetObject().Items.SelectMany(kv => LeafKeys(kv.Value, $"{path}.{kv.Key}"))
            : [path];
}

/// <summary>Runs where systemd-analyze is installed (CI installs it, and PVDRM_REQUIRE_SYSTEMD_ANALYZE=1 turns a skip into a failure).</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    public static readonly string? Path = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);

    public SystemdAnalyzeFactAttribute()
    {
        if (Path == null && Environment.GetEnvironmentVariable("PVDRM_REQUIRE_SYSTEMD_ANALYZE") != "1")
            Skip = "systemd-analyze is not installed (Debian package systemd)";
    }
}
