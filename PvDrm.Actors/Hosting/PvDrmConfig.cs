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

    /// <summary>Command-line flags as HOCON lines under <paramref name="root"/>; null values are left out.</summary>
    public static string Overrides(string root, params (string Key, string? Value)[] values) =>
        string.Join("\n", values.Where(v => v.Value != null)
            .Select(v => $"{root}.{v.Key} = {System.Text.Json.JsonSerializer.Serialize(v.Value)}"));

    /// <summary>
    /// Parses a HOCON file (`--config`) and puts it over the reference, the PVDRM__* environment
    /// variables over it and <paramref name="overrides"/> (the flags) on top (<see cref="ConfigLayers"/>).
    /// No file: the reference alone; an empty file or /dev/null: the same. A missing file, a
    /// directory, an unreadable file and a syntax error are each a <see cref="ConfigurationException"/>
    /// that names the file and says which.
    /// </summary>
    public static Config Load(string? path, string overrides = "") => ConfigLayers.Load(path, overrides).Effective;

    /// <summary>
    /// <paramref name="config"/> with the reference beneath it, once: a config that already is the
    /// reference (nothing given) stays as it is, since Akka refuses a config as its own fallback.
    /// </summary>
    public static Config OverReference(Config config) =>
        ReferenceEquals(config, Reference) ? config : config.IsEmpty ? Reference : config.WithFallback(Reference);

    internal static Config ParseFile(string path)
    {
        string shown = $"config file {path} (--config)";
        if (Directory.Exists(path)) throw new ConfigurationException($"{shown} is a directory; expected a HOCON file");
        if (!File.Exists(path)) throw new ConfigurationException($"{shown} does not exist");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{shown} cannot be read: permission denied (user {Environment.UserName} needs read access)");
        }
        catch (IOException e)
        {
            throw new ConfigurationException($"{shown} cannot be read: {e.Message}");
        }
        if (HoconSyntax.Check(text) is { } mistake) throw new ConfigurationException($"{shown} is not valid HOCON: {mistake}");
        try
        {
            return ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{shown} is not valid HOCON: {e.Message}");
        }
    }
}
