using System.CommandLine;
using System.CommandLine.Parsing;

namespace PvDrm.Cli;

/// <summary>
/// The one error path of both executables: parse and validation errors, configuration errors and
/// any exception a command throws end in one line on stderr and a documented exit code
/// (<see cref="CommandErrors"/>); `--verbose` adds the stack trace. Help and version print as usual.
/// </summary>
public static class PvDrmCommandLine
{
    /// <summary>`--verbose`, on every command: stack traces with errors.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "print the stack trace with an error", Recursive = true };

    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/> and runs the command.</summary>
    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter? stderr = null)
    {
        stderr ??= Console.Error;
        if (!root.Options.Contains(Verbose)) root.Options.Add(Verbose);
        bool verbose = args.Contains(Verbose.Name);
        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception e)
        {
            return CommandErrors.Report(root.Name, e, verbose, stderr);
        }
        string what = CommandPath(parse);
        if (parse.Errors.Count > 0)
        {
            stderr.WriteLine($"{what}: {Describe(parse.Errors)} (see {what} --help)");
            return CommandErrors.BadConfiguration;
        }
        try
        {
            // On SIGINT/SIGTERM the command's token is cancelled; the process ends with the
            // command's own code as long as it stops within this (serve's graceful stop is bounded
            // by HostOptions.ShutdownTimeout, 10 s), instead of a bare 130/143 on a loaded machine.
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = TimeSpan.FromSeconds(15),
            });
        }
        catch (Exception e)
        {
            return CommandErrors.Report(what, e, verbose, stderr);
        }
    }

    /// <summary>The command as typed: "pvdrm-host set".</summary>
    public static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? r = parse.CommandResult; r != null; r = r.Parent)
            if (r is CommandResult c) names.Insert(0, c.Command.Name);
        return string.Join(" ", names);
    }

    /// <summary>Every error on one line, each naming its option or argument.</summary>
    public static string Describe(IEnumerable<ParseError> errors) =>
        string.Join("; ", errors.Select(e => CommandErrors.OneLine(Named(e))).Distinct());

    private static string Named(ParseError error)
    {
        string? name = error.SymbolResult switch
        {
            OptionResult o => o.Option.Name,
            ArgumentResult { Parent: OptionResult o } => o.Option.Name,
            ArgumentResult a => $"<{a.Argument.Name}>",
            _ => null,
        };
        return name == null || error.Message.Contains(name, StringComparison.Ordinal) ? error.Message : $"{name}: {error.Message}";
    }
}
