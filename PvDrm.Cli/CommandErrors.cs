using Akka.Configuration;
using PvDrm.Native.Interop;

namespace PvDrm.Cli;

/// <summary>
/// The exit codes both executables document (README, "Exit codes"), and the one place that turns
/// a failure into one line on stderr and one of them, instead of a stack trace.
/// </summary>
public static class CommandErrors
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The operation failed: refused by the host, a connection that could not be made, a wrong result.</summary>
    public const int Failed = 1;

    /// <summary>Bad usage or configuration: nothing was attempted.</summary>
    public const int BadConfiguration = 2;

    /// <summary>The host (or the proxy's upstream) went away while the command was using it.</summary>
    public const int HostLost = 3;

    /// <summary>Interrupted (SIGINT/SIGTERM) before the command finished.</summary>
    public const int Interrupted = 130;

    /// <summary>
    /// Writes <paramref name="error"/> as one line, prefixed with <paramref name="what"/> (the command
    /// path), and returns its exit code. <paramref name="verbose"/> adds the stack trace.
    /// </summary>
    public static int Report(string what, Exception error, bool verbose, TextWriter? stderr = null)
    {
        stderr ??= Console.Error;
        var e = Unwrap(error);
        int code = ExitCode(e);
        string message = code == Failed && e is not ErrnoException
            ? $"internal error: {e.GetType().Name}: {e.Message}{(verbose ? "" : " (--verbose shows where)")}"
            : e.Message;
        stderr.WriteLine($"{what}: {OneLine(message)}");
        if (verbose) stderr.WriteLine($"{e.GetType().FullName}: {e.Message}{Environment.NewLine}{e.StackTrace}");
        return code;
    }

    /// <summary>The exit code a failure means.</summary>
    public static int ExitCode(Exception error) => Unwrap(error) switch
    {
        ConfigurationException or FormatException => BadConfiguration,
        ErrnoException { Errno: Errno.ECONNRESET or Errno.EPIPE } => HostLost,
        ErrnoException => Failed,
        OperationCanceledException => Interrupted,
        _ => Failed,
    };

    /// <summary>Several lines (a library's message, a list) as one.</summary>
    public static string OneLine(string text) =>
        string.Join(" ", text.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerExceptions[0])
        : e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? Unwrap(inner)
        : e;
}
