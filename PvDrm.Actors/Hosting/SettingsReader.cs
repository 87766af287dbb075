using Akka.Configuration;

namespace PvDrm.Actors;

/// <summary>
/// Reads typed values under one config path and turns any bad value into a
/// <see cref="ConfigurationException"/> that names the full key and what was expected.
/// </summary>
public sealed class SettingsReader
{
    private readonly Config _config;
    private readonly string _root;
    private readonly string _shown;

    /// <param name="shownAs">The path messages name, when <paramref name="config"/> was merged from several places (default: <paramref name="root"/>).</param>
    public SettingsReader(Config config, string root, string? shownAs = null)
    {
        _config = config;
        _root = root;
        _shown = shownAs ?? root;
    }

    /// <summary>The path messages name for this reader's root.</summary>
    public string Shown => _shown;

    public bool Has(string key) => _config.HasPath(Path(key));

    public bool Bool(string key) => Read(key, "on or off", p => _config.GetBoolean(p));

    public string String(string key) => Read(key, "a string", p => _config.GetString(p) ?? "");

    public int Int(string key, int min, int max)
    {
        int value = Read(key, "an integer", p => _config.GetInt(p));
        return value >= min && value <= max ? value : throw Bad(key, $"{value} is outside {min}..{max}");
    }

    public long Bytes(string key, long min, long max)
    {
        long value = Read(key, "a size such as 256 KiB", p => _config.GetByteSize(p) ?? throw new FormatException("missing"));
        return value >= min && value <= max ? value : throw Bad(key, $"{value} bytes is outside {min}..{max}");
    }

    /// <summary>A polling time: "auto" (<paramref name="auto"/>), or a duration, 0 for none.</summary>
    public TimeSpan PollOrAuto(string key, TimeSpan auto)
    {
        if (Read(key, "auto or a duration such as 50 us", p => _config.GetString(p)) == "auto") return auto;
        var value = Read(key, "auto or a duration such as 50 us", p => _config.GetTimeSpan(p, null, allowInfinite: false));
        return value >= TimeSpan.Zero && value <= TimeSpan.FromMilliseconds(10) ? value : throw Bad(key, "must be auto or between 0 and 10 ms");
    }

    public TimeSpan Duration(string key)
    {
        var value = Read(key, "a duration such as 30 s", p => _config.GetTimeSpan(p, null, allowInfinite: false));
        return value > TimeSpan.Zero ? value : throw Bad(key, "must be positive");
    }

    public IReadOnlyList<int> IntList(string key) =>
        Read(key, "a list of integers such as [0, 1000]", p => _config.GetIntList(p).ToArray());

    public IReadOnlyList<string> Strings(string key) =>
        Read(key, "a list of strings such as [\"a\", \"b\"]", p => _config.GetStringList(p).ToArray());

    public IReadOnlyList<IReadOnlyList<string>> StringLists(string key) =>
        Read(key, "a list of lists of names such as [[\"vm1\", \"vm2\"]]", p =>
            _config.GetValue(p).GetArray().Select(group => (IReadOnlyList<string>)group.GetArray().Select(v => v.GetString()).ToArray()).ToArray());

    /// <summary>An object of name lists, e.g. <c>{ 1001 = [vm1, vm2] }</c>, keyed as written.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> NameListsByKey(string key) =>
        Read(key, "an object of name lists such as { 1001 = [vm1, vm2] }", p =>
            _config.GetValue(p).GetObject().Items.ToDictionary(
                item => item.Key, item => (IReadOnlyList<string>)item.Value.GetArray().Select(v => v.GetString()).ToArray(), StringComparer.Ordinal));

    public uint Octal(string key)
    {
        string text = String(key);
        try
        {
            uint mode = Convert.ToUInt32(text, 8);
            return mode <= Convert.ToUInt32("777", 8) ? mode : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw Bad(key, $"'{text}' is not an octal file mode such as \"0660\"");
        }
    }

    private T Read<T>(string key, string expected, Func<string, T> read)
    {
        string path = Path(key), shown = $"{_shown}.{key}";
        if (!_config.HasPath(path)) throw new ConfigurationException($"{shown}: missing (expected {expected})");
        try
        {
            return read(path);
        }
        catch (Exception e) when (e is not ConfigurationException || !e.Message.StartsWith(shown, StringComparison.Ordinal))
        {
            throw new ConfigurationException($"{shown}: expected {expected} ({e.Message})");
        }
    }

    private string Path(string key) => _root.Length == 0 ? key : $"{_root}.{key}";

    private ConfigurationException Bad(string key, string why) => new($"{_shown}.{key}: {why}");
}
