using System.CommandLine;

namespace PvDrm.Actors;

/// <summary>Command-line options both executables take.</summary>
public static class CommonOptions
{
    /// <summary>`--log-format text|json`: overrides pvdrm.log.format.</summary>
    public static Option<string?> LogFormat() =>
        CommandValues.OneOf("--log-format", "text or json log lines on stderr (pvdrm.log.format)", "text", "json");

    /// <summary>`--config FILE`: a HOCON file over the reference configuration.</summary>
    public static Option<string?> Config(string description) => CommandValues.File("--config", description);

    /// <summary>The HOCON line for a `--log-format` given on the command line (empty when not given).</summary>
    public static string LogOverrides(ParseResult parse, Option<string?> logFormat) =>
        PvDrmConfig.Overrides("pvdrm.log", ("format", parse.GetValue(logFormat)));
}
