using System.CommandLine;
using Akka.Configuration;
using PvDrm.Actors;

namespace PvDrm.Host;

/// <summary>
/// `pvdrm-host config --config FILE KEY...`: prints the values the host would read for these
/// keys (the file over reference.conf), one per line, so scripts such as deploy/vm/run.sh need
/// not parse HOCON themselves.
/// </summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config("HOCON file with pvdrm.host.* settings");
        var keys = new Argument<string[]>("key") { Arity = ArgumentArity.OneOrMore, Description = "full keys, e.g. pvdrm.host.listen.tcp" };
        keys.Validators.Add(r =>
        {
            if (r.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value))) r.AddError("<key>: empty; expected a key such as pvdrm.host.listen.tcp");
        });
        var command = new Command("config", "Print the values a configuration gives to settings, one per line") { config, keys };
        command.SetAction(parse =>
        {
            var loaded = PvDrmConfig.Load(parse.GetValue(config));
            var values = new List<string>();
            foreach (string key in parse.GetValue(keys)!)
            {
                if (!key.StartsWith("pvdrm.", StringComparison.Ordinal) || !loaded.HasPath(key))
                    throw new ConfigurationException($"<key>: {key} is not a pvdrm setting (reference.conf lists them)");
                var value = loaded.GetValue(key);
                if (value.IsObject() || value.IsArray())
                    throw new ConfigurationException($"<key>: {key} is a section or a list, not a single value");
                values.Add(loaded.GetString(key) ?? "");
            }
            foreach (string v in values) Console.WriteLine(v);
            return CommandErrors.Success;
        });
        return command;
    }
}
