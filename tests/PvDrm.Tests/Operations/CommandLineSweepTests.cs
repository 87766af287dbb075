using System.CommandLine;
using PvDrm.Guest;
using PvDrm.Host;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// Walks the command tree of both executables and runs every command, as a process, with the
/// typing mistakes of a new user on each of its options and arguments: a non-number, negative,
/// zero and huge numbers, an empty string, a missing file, /dev/null and a directory as config.
/// An invalid value must end in exit code 2 and one line on stderr that names the option; a valid
/// one must not be refused for that option, and nothing may crash.
/// </summary>
public class CommandLineSweepTests : IDisposable
{
    /// <summary>
    /// The range every numeric option accepts, as the sweep expects it: a new numeric option has to
    /// be listed here, so its bounds are decided and tested rather than left to the type.
    /// </summary>
    private static readonly Dictionary<string, (double Min, double Max)> Ranges = new()
    {
        ["pvdrm-host demo --guests"] = (1, 32),
        ["pvdrm-host demo --size"] = (8, 2048),
        ["pvdrm-host demo --iterations"] = (1, 100),
        ["pvdrm-host soak --guests"] = (1, 64),
        ["pvdrm-host soak --duration"] = (1, 86400),
        ["pvdrm-host soak --kill-every"] = (10, 600_000),
        ["pvdrm-host soak --size"] = (8, 1024),
        ["pvdrm-host soak --seed"] = (0, int.MaxValue),
        ["pvdrm-host status --interval"] = (0.1, 3600),
        ["pvdrm-host status --count"] = (0, int.MaxValue),
        ["pvdrm-guest run --size"] = (1, 4096),
        ["pvdrm-guest run --iterations"] = (1, 10000),
        ["pvdrm-guest run --seed"] = (0, int.MaxValue),
        ["pvdrm-guest run --start-at"] = (0, 1e13),
    };

    private static readonly string[] Numbers = ["abc", "-1", "0", "99999999999999999999"];

    /// <summary>Commands that would run for long with valid values: a second, invalid option keeps them from starting.</summary>
    private static readonly Dictionary<string, string[]> Stoppers = new()
    {
        ["pvdrm-host serve"] = ["--log-format", "none"],
        // The proxy waits for a host that is not there (retrying with backoff) instead of failing.
        ["pvdrm-guest serve"] = ["--log-format", "none"],
        ["pvdrm-host demo"] = ["--guests", "0"],
        ["pvdrm-host soak"] = ["--duration", "0"],
    };

    private readonly Processes _run = new();

    private sealed record Case(string Program, string Command, string Option, string Value, string[] Args, bool Valid);

    [Fact]
    public Task Every_bad_value_of_every_pvdrm_host_option_is_a_usage_error_naming_it() => Sweep("pvdrm-host", HostCommandLine.Create());

    [Fact]
    public Task Every_bad_value_of_every_pvdrm_guest_option_is_a_usage_error_naming_it() => Sweep("pvdrm-guest", GuestCommandLine.Create());

    private async Task Sweep(string program, RootCommand root)
    {
        File.WriteAllText(_run["nohost.hocon"], $"""
            pvdrm.host.control.unix = "{_run["none-control.sock"]}"
            pvdrm.guest.control.unix = "{_run["none-proxy-control.sock"]}"
            pvdrm.guest.host = "unix:{_run["none-host.sock"]}"
            """);
        File.WriteAllText(_run["broken.hocon"], "pvdrm.host {\n  limits.max-frame = 1 MiB\n");
        Directory.CreateDirectory(_run["a-directory"]);
        var cases = root.Subcommands.SelectMany(c => CasesOf(program, c)).ToList();
        Assert.True(cases.Count > 20, $"the tree of {program} gave only {cases.Count} cases");

        using var slots = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount * 2));
        var failures = await Task.WhenAll(cases.Select(async c =>
        {
            await slots.WaitAsync();
            var p = _run.Start(c.Program, c.Args);
            try
            {
                await p.WaitAsync(Processes.Timeout);
                return Judge(c, p);
            }
            catch (OperationCanceledException)
            {
                p.Signal(Tmds.Linux.LibC.SIGKILL);
                return $"{c.Program} {string.Join(' ', c.Args)}: still running after {Processes.Timeout.TotalSeconds:F0} s: {p.Stderr.Trim()}";
            }
            finally
            {
                slots.Release();
            }
        }));
        var wrong = failures.Where(f => f != null).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {cases.Count} invocations went wrong:\n{string.Join("\n", wrong)}");
    }

    private static string? Judge(Case c, ChildProcess p)
    {
        string shown = $"{c.Program} {string.Join(' ', c.Args.Select(a => a.Length == 0 ? "''" : a))}";
        string output = p.Stdout + p.Stderr;
        var lines = p.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (output.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || p.ExitCode > 3 || p.ExitCode < 0)
            return $"{shown}: crashed (exit {p.ExitCode}): {output}";
        if (c.Valid)
            return lines.Any(l => l.Contains($"{c.Option}:", StringComparison.Ordinal))
                ? $"{shown}: a valid value was refused (exit {p.ExitCode}): {p.Stderr.Trim()}"
                : p.ExitCode != 0 && lines.Length != 1 ? $"{shown}: exit {p.ExitCode} with {lines.Length} lines on stderr: {p.Stderr.Trim()}" : null;
        if (p.ExitCode != 2) return $"{shown}: exit {p.ExitCode}, not 2: {output.Trim()}";
        if (lines.Length != 1) return $"{shown}: {lines.Length} lines on stderr, not one: {p.Stderr.Trim()}";
        if (!lines[0].Contains(c.Option, StringComparison.Ordinal)) return $"{shown}: the error does not name {c.Option}: {lines[0]}";
        if (lines[0].Contains("System.", StringComparison.Ordinal)) return $"{shown}: the error speaks .NET, not the option: {lines[0]}";
        return p.Stdout.Length > 0 ? $"{shown}: printed on stdout with an error: {p.Stdout.Trim()}" : null;
    }

    private IEnumerable<Case> CasesOf(string program, Command command)
    {
        string path = $"{program} {command.Name}";
        // Values that let the command run past parsing, and fail fast for want of a host.
        var arguments = command.Arguments.Select(a => (a, Value: ValidArgument(a))).ToList();
        var required = command.Options.Where(o => o.Required).Select(o => (o, Value: "vm1")).ToList();
        var quick = command.Options.Any(o => o.Name == "--config") ? new[] { "--config", _run["nohost.hocon"] }
            : command.Options.Any(o => o.Name == "--host") ? new[] { "--host", $"unix:{_run["none-host.sock"]}" }
            : [];

        string[] Args(string? option, string? optionValue, Argument? argument = null, string? argumentValue = null, bool valid = false)
        {
            var args = new List<string> { command.Name };
            foreach (var (o, v) in required.Where(r => r.o.Name != option)) args.AddRange([o.Name, v]);
            if (option != null) args.AddRange([option, optionValue!]);
            if (option != "--config" && option != "--host" && valid) args.AddRange(quick);
            if (valid && Stoppers.TryGetValue(path, out var stop)) args.AddRange(stop);
            foreach (var (a, v) in arguments)
            {
                if (a.Arity.MaximumNumberOfValues > 1) args.Add("--");
                args.Add(a == argument ? argumentValue! : v);
            }
            return args.ToArray();
        }

        foreach (var option in command.Options.Where(o => o.Name is not ("--help" or "--version")))
        {
            if (option.ValueType == typeof(bool)) continue;
            if (option.Name == "--config")
            {
                foreach (var (file, valid) in new[] { (_run["missing.hocon"], false), ("/dev/null", true), (_run["a-directory"], false), (_run["broken.hocon"], false) })
                    yield return new Case(program, path, option.Name, file, Args(option.Name, file, valid: valid), valid);
                continue;
            }
            if (option.ValueType == typeof(string) || option.ValueType == typeof(string[]))
            {
                yield return new Case(program, path, option.Name, "", Args(option.Name, ""), false);
                continue;
            }
            string key = $"{path} {option.Name}";
            Assert.True(Ranges.TryGetValue(key, out var range), $"{key} takes a {option.ValueType.Name}: list its range in {nameof(Ranges)}");
            foreach (string value in Numbers)
            {
                bool valid = double.TryParse(value, out double number) && number >= range.Min && number <= range.Max;
                yield return new Case(program, path, option.Name, value, Args(option.Name, value, valid: valid), valid);
            }
        }
        foreach (var (argument, _) in arguments)
        {
            string name = $"<{argument.Name}>";
            yield return new Case(program, path, name, "", Args(null, null, argument, ""), false);
            if (argument.CompletionSources.Count > 0)
                yield return new Case(program, path, name, "maybe", Args(null, null, argument, "maybe"), false);
        }
        // Nothing given of what is required: each missing one is named.
        foreach (var (o, _) in required)
            yield return new Case(program, path, o.Name, "(missing)", [command.Name, .. required.Where(r => r.o != o).SelectMany(r => new[] { r.o.Name, r.Value })], false);
        if (arguments.Count > 0 && required.Count == 0)
            yield return new Case(program, path, $"<{arguments[0].a.Name}>", "(missing)", [command.Name], false);
    }

    /// <summary>A value the argument accepts: the first it completes to, a program for exec, else a name.</summary>
    private static string ValidArgument(Argument argument) =>
        argument.ValueType == typeof(string[]) ? "/bin/true"
        : argument.GetCompletions(System.CommandLine.Completions.CompletionContext.Empty).FirstOrDefault()?.Label ?? "vm1";

    public void Dispose() => _run.Dispose();
}
