using System.CommandLine;

namespace PvDrm.Actors;

/// <summary>Command-line options both executables take.</summary>
public static class CommonOptions
{
    /// <summary>`--log-format text|json`: overrides pvdrm.log.format.</summary>
    public static Option<string?> LogFormat()
    {
        var option = new Option<string?>("--log-format") { Description = "text or json log lines on stderr (pvdrm.log.format)" };
        option.AcceptOnlyFromAmong("text", "json");
        return option;
    }

    /// <summary>The HOCON line for a `--log-format` given on the command line (empty when not given).</summary>
    public static string LogOverrides(ParseResult parse, Option<string?> logFormat) =>
        PvDrmConfig.Overrides("pvdrm.log", ("format", parse.GetValue(logFormat)));
}
