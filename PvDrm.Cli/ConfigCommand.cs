using System.CommandLine;
using System.Text.Json;
using Akka.Configuration;
using Akka.Configuration.Hocon;

using PvDrm.Actors;

namespace PvDrm.Cli;

/// <summary>
/// `config check`, `config show` and `config get` of both executables: the configuration a service would start
/// with (reference, `--config` file, PVDRM__* variables, `--set` flags), checked by the same
/// settings classes the service uses, or printed with where each value came from.
/// </summary>
public static class ConfigCommand
{
    /// <param name="sections">The key prefixes `show` prints (pvdrm.host, pvdrm.log, ...).</param>
    /// <param name="check">Reads every setting the service reads; throws a <see cref="ConfigurationException"/> naming the key.</param>
    public static Command Create(string fileDescription, string[] sections, Action<Config> check)
    {
        var command = new Command("config", "Check the configuration, or show it with where each value came from");
        command.Add(Check(fileDescription, check));
        command.Add(Show(fileDescription, sections));
        command.Add(Get(fileDescription));
        return command;
    }

    /// <summary>
    /// `config get KEY...`: the effective value of each key, one per line, so scripts (deploy/vm/run.sh)
    /// need not parse HOCON themselves.
    /// </summary>
    private static Command Get(string fileDescription)
    {
        var config = CommonOptions.Config(fileDescription);
        var set = Set();
        var keys = new Argument<string[]>("key") { Arity = ArgumentArity.OneOrMore, Description = "full keys, e.g. pvdrm.host.listen.tcp" };
        keys.Validators.Add(r =>
        {
            if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError("<key>: empty; expected a key such as pvdrm.host.listen.tcp");
        });
        var command = new Command("get", "Print the effective values of these keys, one per line") { keys, config, set };
        command.SetAction(parse =>
        {
            var effective = Layers(parse, config, set).Effective;
            var values = new List<string>();
            foreach (string key in parse.GetValue(keys)!)
            {
                if (!key.StartsWith("pvdrm.", StringComparison.Ordinal) || !effective.HasPath(key))
                    throw new ConfigurationException($"<key>: {key} is not a pvdrm setting (reference.conf lists them)");
                var value = effective.GetValue(key);
                if (value.IsObject() || value.IsArray())
                    throw new ConfigurationException($"<key>: {key} is a section or a list, not a single value");
                values.Add(effective.GetString(key) ?? "");
            }
            foreach (string v in values) Console.WriteLine(v);
            return CommandErrors.Success;
        });
        return command;
    }

    /// <summary>`--set KEY=VALUE`, repeatable: any key from the command line, over file and environment.</summary>
    public static Option<string[]> Set() => new("--set")
    {
        Description = "set a configuration key, e.g. --set pvdrm.host.sequential=on (repeatable; over the file and PVDRM__* variables)",
        AllowMultipleArgumentsPerToken = false,
        CustomParser = r =>
        {
            var values = r.Tokens.Select(t => t.Value).ToArray();
            if (values.FirstOrDefault(v => v.IndexOf('=') <= 0 || !v.StartsWith("pvdrm.", StringComparison.Ordinal)) is { } bad)
                r.AddError($"--set: '{bad}' is not KEY=VALUE with a pvdrm.* key");
            return values;
        },
    };

    /// <summary>The HOCON lines of the `--set` values (each value a string, as the environment's).</summary>
    public static string SetLines(IEnumerable<string>? values) =>
        string.Join("\n", (values ?? []).Select(v =>
        {
            int eq = v.IndexOf('=');
            string key = v[..eq], value = v[(eq + 1)..];
            return $"{key} = {(value.TrimStart() is ['[' or '{', ..] ? value : JsonSerializer.Serialize(value))}";
        }));

    /// <summary>The layers of a command's `--config` and `--set` values (the environment read too).</summary>
    public static ConfigLayers Layers(ParseResult parse, Option<string?> config, Option<string[]> set, string flags = "") =>
        ConfigLayers.Load(parse.GetValue(config), flags + "\n" + SetLines(parse.GetValue(set)));

    private static Command Check(string fileDescription, Action<Config> check)
    {
        var config = CommonOptions.Config(fileDescription);
        var set = Set();
        var command = new Command("check", "Load the configuration as serve would and check every key; exit 0, or 2 naming the key") { config, set };
        command.SetAction(parse =>
        {
            var layers = Layers(parse, config, set);
            if (layers.UnknownKeys() is [var unknown, ..])
                throw new ConfigurationException($"{unknown}: not a key of PvDrm's configuration (reference.conf lists every key)");
            check(layers.Effective);
            string what = parse.GetValue(config) is { } path ? path : "the built-in defaults";
            Console.WriteLine($"{PvDrmCommandLine.CommandPath(parse)}: {what}: valid");
            return CommandErrors.Success;
        });
        return command;
    }

    private static Command Show(string fileDescription, string[] sections)
    {
        var config = CommonOptions.Config(fileDescription);
        var set = Set();
        var command = new Command("show", "Print the effective configuration, each key with where its value came from") { config, set };
        command.SetAction(parse =>
        {
            var layers = Layers(parse, config, set);
            string? file = parse.GetValue(config);
            foreach (string key in ConfigLayers.ReferenceKeys.Where(k => sections.Any(s => k.StartsWith(s + ".", StringComparison.Ordinal))))
            {
                var origin = layers.OriginOf(key);
                string from = origin switch
                {
                    ConfigOrigin.File => $"file {file}",
                    ConfigOrigin.Environment => $"environment {Variable(key)}",
                    ConfigOrigin.Flag => "flag",
                    _ => "reference",
                };
                Console.WriteLine($"{key} = {Render(key, layers.Effective.GetValue(key))}  # {from}");
            }
            return CommandErrors.Success;
        });
        return command;
    }

    /// <summary>The variable that set <paramref name="key"/> (the token may come from its alias).</summary>
    private static string Variable(string key) =>
        key == $"{PvDrm.Actors.Guest.ProxySettings.Root}.token" && Environment.GetEnvironmentVariable(ConfigLayers.VariableName(key)) == null
            ? ConfigLayers.TokenVariable : ConfigLayers.VariableName(key);

    /// <summary>A value as HOCON; a secret only as whether it is set.</summary>
    private static string Render(string key, HoconValue value)
    {
        if (key.EndsWith(".token", StringComparison.Ordinal))
            return value.GetString() is { Length: > 0 } t ? $"\"(hidden, {t.Length} characters)\"" : "\"\"";
        if (value.IsArray()) return "[" + string.Join(", ", value.GetArray().Select(v => Render("", v))) + "]";
        if (value.IsObject()) return value.ToString().ReplaceLineEndings(" ");
        return JsonSerializer.Serialize(value.GetString());
    }
}
