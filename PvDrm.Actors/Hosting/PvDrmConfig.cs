using Akka.Configuration;

namespace PvDrm.Actors;

/// <summary>The embedded reference configuration: every pvdrm.* key with its default and a comment.</summary>
public static class PvDrmConfig
{
    private static readonly Lazy<Config> s_reference = new(() =>
    {
        using var stream = typeof(PvDrmConfig).Assembly.GetManifestResourceStream("PvDrm.Actors.reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    public static Config Reference => s_reference.Value;

    /// <summary>The text of reference.conf, for `--print-config` style output and docs.</summary>
    public static string ReferenceText
    {
        get
        {
            using var stream = typeof(PvDrmConfig).Assembly.GetManifestResourceStream("PvDrm.Actors.reference.conf")!;
            return new StreamReader(stream).ReadToEnd();
        }
    }

    /// <summary>Command-line flags as HOCON lines under <paramref name="root"/>; null values are left out.</summary>
    public static string Overrides(string root, params (string Key, string? Value)[] values) =>
        string.Join("\n", values.Where(v => v.Value != null)
            .Select(v => $"{root}.{v.Key} = {System.Text.Json.JsonSerializer.Serialize(v.Value)}"));

    /// <summary>Parses a HOCON file and puts it over the reference; syntax errors name the file.</summary>
    public static Config Load(string? path, string overrides = "")
    {
        Config config = ConfigurationFactory.ParseString(overrides);
        if (path != null)
        {
            if (!File.Exists(path)) throw new ConfigurationException($"config file {path} does not exist");
            try
            {
                config = config.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(path)));
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw new ConfigurationException($"config file {path}: {e.Message}");
            }
        }
        return config.WithFallback(Reference);
    }
}
