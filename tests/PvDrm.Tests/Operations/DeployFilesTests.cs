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
            string text = File.ReadAllText(Path.Combine(Deploy, "systemd", unit)).Replace("/opt/pvdrm/", System.AppContext.BaseDirectory);
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
