using PvDrm.Cli;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Guest;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// The configuration an operator works with: reference, file, PVDRM__* variables and flags in
/// that order; `config check` and `config show` of both executables; tokens kept out of argv.
/// </summary>
public class ConfigCommandTests : IDisposable
{
    private readonly Processes _processes = new();

    private static Dictionary<string, string> Variables(params (string Name, string Value)[] v) => v.ToDictionary(x => x.Name, x => x.Value);

    [Fact]
    public void An_environment_variable_overrides_the_file_and_a_flag_overrides_both()
    {
        string file = _processes["host.hocon"];
        File.WriteAllText(file, "pvdrm.host.sequential = off\npvdrm.host.limits.max-frame = 64 KiB\n");

        var layers = ConfigLayers.Load(file, "pvdrm.host.limits.max-frame = 32 KiB",
            Variables(("PVDRM__HOST__SEQUENTIAL", "on"), ("PVDRM__HOST__LIMITS__MAX_FRAME", "128 KiB"), ("PVDRM__HOST__LIMITS__CONTEXTS_PER_GUEST", "7")));
        var settings = HostSettings.Create(layers.Effective);

        Assert.True(settings.Sequential);
        Assert.Equal(ConfigOrigin.Environment, layers.OriginOf("pvdrm.host.sequential"));
        Assert.Equal(32 * 1024, settings.Protocol.MaxFrame);
        Assert.Equal(ConfigOrigin.Flag, layers.OriginOf("pvdrm.host.limits.max-frame"));
        Assert.Equal(7, settings.ContextsPerGuest);
        Assert.Equal(ConfigOrigin.Reference, layers.OriginOf("pvdrm.host.limits.pushbuf-entries"));
    }

    [Fact]
    public void Every_key_has_its_own_variable_and_lists_and_tables_take_hocon()
    {
        var names = ConfigLayers.ReferenceKeys.Select(ConfigLayers.VariableName).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Contains("PVDRM__HOST__SEQUENTIAL", names);
        Assert.Contains("PVDRM__GUEST__SHIM__UNIX", names);

        var layers = ConfigLayers.Load(null, "", Variables(
            ("PVDRM__HOST__AUTH__UNIX_UIDS", "[1000, 1001]"), ("PVDRM__HOST__AUTH__UID_NAMES", "{ 1002 = [vm1, vm2] }"),
            ("PVDRM__GUEST__HOST", "unix:/tmp/x.sock"), ("PVDRM__UNRELATED", "ignored")));

        var auth = HostSettings.Create(layers.Effective).Auth;
        Assert.Equal([1000, 1001], auth.UnixUids);
        Assert.Equal(["vm1", "vm2"], auth.UidNames[1002].Order());
        Assert.Equal("unix:/tmp/x.sock", ProxySettings.Create(layers.Effective).Host);
    }

    [Fact]
    public void PVDRM_TOKEN_gives_the_guest_token_and_the_full_variable_wins_over_it()
    {
        Assert.Equal("t1", ProxySettings.Create(ConfigLayers.Load(null, "", Variables(("PVDRM_TOKEN", "t1"))).Effective).Token);
        Assert.Equal("t2", ProxySettings.Create(ConfigLayers.Load(null, "",
            Variables(("PVDRM_TOKEN", "t1"), ("PVDRM__GUEST__TOKEN", "t2"))).Effective).Token);
    }

    [Fact]
    public async Task Config_check_accepts_the_samples_and_names_a_bad_or_unknown_key_with_exit_2()
    {
        foreach (var (program, sample) in new[] { ("pvdrm-host", "pvdrm-host.hocon"), ("pvdrm-guest", "pvdrm-guest.hocon") })
        {
            var good = await _processes.Run(program, "config", "check", "--config", Path.Combine(Repository.Root, "deploy", sample));
            Assert.True(good.ExitCode == 0, good.Stderr);
            Assert.Contains("valid", good.Stdout);
        }

        File.WriteAllText(_processes["typo.hocon"], "pvdrm.host.sequentail = on\n");
        var typo = await _processes.Run("pvdrm-host", "config", "check", "--config", _processes["typo.hocon"]);
        Assert.Equal(CommandErrors.BadConfiguration, typo.ExitCode);
        Assert.Contains("pvdrm.host.sequentail: not a key", typo.Stderr);

        File.WriteAllText(_processes["bad.hocon"], "pvdrm.guest.cache.max-objects = lots\n");
        var bad = await _processes.Run("pvdrm-guest", "config", "check", "--config", _processes["bad.hocon"]);
        Assert.Equal(CommandErrors.BadConfiguration, bad.ExitCode);
        Assert.Contains("pvdrm.guest.cache.max-objects", bad.Stderr);

        var badVariable = _processes.StartWith("pvdrm-host", new Dictionary<string, string?> { ["PVDRM__HOST__LIMITS__MAX_FRAME"] = "huge" }, "config", "check");
        Assert.Equal(CommandErrors.BadConfiguration, await badVariable.WaitAsync(Processes.Timeout));
        Assert.Contains("pvdrm.host.limits.max-frame", badVariable.Stderr);
    }

    [Fact]
    public async Task Config_show_says_where_each_value_came_from_and_hides_the_token()
    {
        File.WriteAllText(_processes["guest.hocon"], "pvdrm.guest.name = from-file\npvdrm.guest.cache.enabled = on\n");
        var show = _processes.StartWith("pvdrm-guest", new Dictionary<string, string?> { ["PVDRM__GUEST__CACHE__ENABLED"] = "off", ["PVDRM_TOKEN"] = "s3cret" },
            "config", "show", "--config", _processes["guest.hocon"], "--set", "pvdrm.guest.cache.max-objects=9");
        Assert.Equal(0, await show.WaitAsync(Processes.Timeout));

        string[] lines = show.Stdout.Split('\n');
        Assert.Contains($"pvdrm.guest.name = \"from-file\"  # file {_processes["guest.hocon"]}", lines);
        Assert.Contains("pvdrm.guest.cache.enabled = \"off\"  # environment PVDRM__GUEST__CACHE__ENABLED", lines);
        Assert.Contains("pvdrm.guest.cache.max-objects = \"9\"  # flag", lines);
        Assert.Contains("pvdrm.guest.listen = \"unix:/run/pvdrm/guest.sock\"  # reference", lines);
        Assert.Contains("pvdrm.guest.token = \"(hidden, 6 characters)\"  # environment PVDRM_TOKEN", lines);
        Assert.DoesNotContain("s3cret", show.Stdout);
    }

    [Fact]
    public async Task A_token_file_keeps_the_token_out_of_argv_and_a_missing_one_is_exit_2()
    {
        var missing = await _processes.Run("pvdrm-guest", "run", "gemm", "--host", "unix:/nonexistent.sock", "--token-file", _processes["none"]);
        Assert.Equal(CommandErrors.BadConfiguration, missing.ExitCode);
        Assert.Contains($"--token-file {_processes["none"]} does not exist", missing.Stderr);

        File.WriteAllText(_processes["token"], "tok-123\n");
        var root = GuestCommandLine.Create();
        var parse = root.Parse(["serve", "--token-file", _processes["token"], "--token", "ignored"]);
        var serve = root.Subcommands.Single(c => c.Name == "serve");
        var token = (System.CommandLine.Option<string?>)serve.Options.Single(o => o.Name == "--token");
        var file = (System.CommandLine.Option<string?>)serve.Options.Single(o => o.Name == "--token-file");
        Assert.Equal("tok-123", CommonOptions.Token(parse, token, file));
    }

    public void Dispose() => _processes.Dispose();
}
