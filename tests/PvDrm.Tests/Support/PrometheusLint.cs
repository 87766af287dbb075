using System.Text.RegularExpressions;

namespace PvDrm.Tests.Support;

/// <summary>
/// Prometheus' naming rules on a scrape: TYPE and HELP given, counters end in _total and nothing
/// else does, base units only, and no label that mixes units in one family (the old
/// pvdrm_guest{what} pattern).
/// </summary>
internal static class PrometheusLint
{
    private static readonly Regex Sample = new(@"^(?<name>[a-z_]+(\{[^}]*\})?) (?<value>\S+)$", RegexOptions.Multiline);

    /// <summary>Checks every family of <paramref name="text"/> and returns each family's type.</summary>
    public static Dictionary<string, string> Check(string text)
    {
        var types = Regex.Matches(text, @"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var helps = Regex.Matches(text, @"^# HELP (\S+) .+$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var (family, type) in types)
        {
            Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", family);
            Assert.Contains(family, helps);
            Assert.True(type == "counter" == family.EndsWith("_total", StringComparison.Ordinal), $"{family} is a {type}: only counters end in _total");
            Assert.DoesNotMatch("_(ms|milliseconds|us|microseconds|kb|kib|mb|mib|percent)(_|$)", family);
        }
        foreach (Match sample in Sample.Matches(text))
            Assert.DoesNotMatch(@"[{,](what|limit|unit)=", sample.Groups["name"].Value);
        return types;
    }
}
