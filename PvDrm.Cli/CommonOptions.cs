using System.CommandLine;

using PvDrm.Actors;

namespace PvDrm.Cli;

/// <summary>Command-line options both executables take.</summary>
public static class CommonOptions
{
    /// <summary>`--log-format text|json`: overrides pvdrm.log.format.</summary>
    public static Option<string?> LogFormat() =>
        CommandValues.OneOf("--log-format", "text or json log lines on stderr (pvdrm.log.format)", "text", "json");

    /// <summary>`--config FILE`: a HOCON file over the reference configuration.</summary>
    public static Option<string?> Config(string description) => CommandValues.File("--config", description);

    /// <summary>`--token-file FILE`: the token read from a file, so it is not in /proc/*/cmdline as `--token` is.</summary>
    public static Option<string?> TokenFile() =>
        CommandValues.File("--token-file", "read the token to present from this file (first line); keeps it out of the process list, unlike --token");

    /// <summary>
    /// The token the flags give: `--token-file`'s first line, else `--token`; null when neither is
    /// given (PVDRM_TOKEN and the configuration then apply).
    /// </summary>
    public static string? Token(ParseResult parse, Option<string?> token, Option<string?> tokenFile)
    {
        if (parse.GetValue(tokenFile) is not { } path) return parse.GetValue(token);
        if (!System.IO.File.Exists(path)) throw new Akka.Configuration.ConfigurationException($"--token-file {path} does not exist");
        try
        {
            return System.IO.File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Akka.Configuration.ConfigurationException($"--token-file {path} cannot be read: {e.Message}");
        }
    }

    /// <summary>The HOCON line for a `--log-format` given on the command line (empty when not given).</summary>
    public static string LogOverrides(ParseResult parse, Option<string?> logFormat) =>
        PvDrmConfig.Overrides("pvdrm.log", ("format", parse.GetValue(logFormat)));
}
