using System.Collections;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace PvDrm.Actors;

/// <summary>Where an effective configuration value came from, lowest first.</summary>
public enum ConfigOrigin
{
    Reference,
    File,
    Environment,
    Flag,
}

/// <summary>
/// The configuration as four layers, each over the one before: reference.conf, the `--config`
/// file, environment variables (<c>PVDRM__HOST__SEQUENTIAL=on</c> sets <c>pvdrm.host.sequential</c>:
/// upper case, <c>.</c> as <c>__</c>, <c>-</c> as <c>_</c>), and command-line flags. Keeps the
/// layers apart so `config show` can say where each value came from.
/// </summary>
public sealed class ConfigLayers
{
    /// <summary>An alias of <c>PVDRM__GUEST__TOKEN</c>: the token kept out of argv.</summary>
    public const string TokenVariable = "PVDRM_TOKEN";

    /// <summary>
    /// Every key of reference.conf under <c>pvdrm</c>; a table that starts empty there (devices,
    /// guests, uid-names) is one key whose value is the whole object.
    /// </summary>
    public static IReadOnlyList<string> ReferenceKeys { get; } = Leaves(PvDrmConfig.Reference.GetValue("pvdrm"), "pvdrm").ToArray();

    private static readonly Lazy<IReadOnlyDictionary<string, string>> s_keysByVariable = new(() =>
        ReferenceKeys.ToDictionary(VariableName, k => k, StringComparer.Ordinal));

    private readonly Config _file, _environment, _flags;

    private ConfigLayers(Config file, Config environment, Config flags)
    {
        _file = file;
        _environment = environment;
        _flags = flags;
        var merged = flags.WithFallback(environment).WithFallback(file);
        Effective = PvDrmConfig.OverReference(merged.IsEmpty ? ConfigurationFactory.Empty : merged);
    }

    /// <summary>Everything merged: what the settings classes read.</summary>
    public Config Effective { get; }

    /// <param name="path">`--config`; null: none.</param>
    /// <param name="flags">HOCON lines from the flags (<see cref="PvDrmConfig.Overrides"/>).</param>
    /// <param name="environment">The variables to read; null: this process's.</param>
    public static ConfigLayers Load(string? path, string flags = "", IDictionary? environment = null)
    {
        var file = path == null ? ConfigurationFactory.Empty : PvDrmConfig.ParseFile(path);
        return new ConfigLayers(file, FromEnvironment(environment ?? Environment.GetEnvironmentVariables()), ConfigurationFactory.ParseString(flags));
    }

    /// <summary>The variable that sets <paramref name="key"/>: pvdrm.host.limits.max-frame is PVDRM__HOST__LIMITS__MAX_FRAME.</summary>
    public static string VariableName(string key) => key.ToUpperInvariant().Replace(".", "__").Replace('-', '_');

    /// <summary>The layer that set <paramref name="key"/> last.</summary>
    public ConfigOrigin OriginOf(string key) =>
        Has(_flags, key) ? ConfigOrigin.Flag
        : Has(_environment, key) ? ConfigOrigin.Environment
        : Has(_file, key) ? ConfigOrigin.File
        : ConfigOrigin.Reference;

    /// <summary>Keys under <c>pvdrm</c> that the file, the environment or the flags set and reference.conf does not know (typos).</summary>
    public IReadOnlyList<string> UnknownKeys()
    {
        var tables = ReferenceKeys.Where(k => PvDrmConfig.Reference.GetValue(k).IsObject()).ToArray();
        return new[] { _file, _environment, _flags }
            .Where(c => !c.IsEmpty && c.HasPath("pvdrm"))
            .SelectMany(c => Leaves(c.GetValue("pvdrm"), "pvdrm"))
            .Where(k => !ReferenceKeys.Contains(k) && !tables.Any(t => k.StartsWith(t + ".", StringComparison.Ordinal)))
            .Distinct()
            .ToArray();
    }

    private static Config FromEnvironment(IDictionary variables)
    {
        // PVDRM_TOKEN first: a later line wins, so PVDRM__GUEST__TOKEN overrides the alias.
        var lines = new List<string>();
        if (variables[TokenVariable] is string token) lines.Add($"{Guest.ProxySettings.Root}.token = {System.Text.Json.JsonSerializer.Serialize(token)}");
        foreach (DictionaryEntry v in variables)
        {
            if (s_keysByVariable.Value.GetValueOrDefault((string)v.Key) is not { } key) continue;
            string value = (string?)v.Value ?? "";
            // Lists and tables are HOCON; anything else is a string, which every reader converts.
            string hocon = value.TrimStart() is ['[' or '{', ..] ? value : System.Text.Json.JsonSerializer.Serialize(value);
            lines.Add($"{key} = {hocon}");
        }
        try
        {
            return ConfigurationFactory.ParseString(string.Join("\n", lines));
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"a PVDRM__* environment variable is not valid HOCON: {e.Message}");
        }
    }

    private static bool Has(Config layer, string key) => !layer.IsEmpty && layer.HasPath(key);

    private static IEnumerable<string> Leaves(HoconValue value, string path) =>
        value.IsObject() && value.GetObject().Items.Count > 0
            ? value.GetObject().Items.SelectMany(kv => Leaves(kv.Value, $"{path}.{kv.Key}"))
            : [path];
}
