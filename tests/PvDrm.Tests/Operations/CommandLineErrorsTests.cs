using PvDrm.Cli;
using System.CommandLine;
using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Native.Interop;

namespace PvDrm.Tests.Operations;

/// <summary>
/// The one error path (<see cref="PvDrmCommandLine"/>) for what a sweep of typing mistakes cannot
/// provoke: a command that throws. Each failure kind is one line and its documented exit code;
/// the stack trace only with --verbose.
/// </summary>
public class CommandLineErrorsTests
{
    private static async Task<(int Code, string[] Lines)> Run(Exception thrown, params string[] args)
    {
        var root = new RootCommand("test");
        var command = new Command("work", "throws");
        command.SetAction(new Func<ParseResult, int>(_ => throw thrown));
        root.Add(command);
        var stderr = new StringWriter();
        int code = await PvDrmCommandLine.RunAsync(root, ["work", .. args], stderr);
        return (code, stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Each_kind_of_failure_is_one_line_and_its_exit_code()
    {
        var cases = new (Exception Thrown, int Code)[]
        {
            (new ConfigurationException("pvdrm.host.device: missing"), CommandErrors.BadConfiguration),
            (new ErrnoException(Errno.ENOENT, "no PvDrm host answers on /x"), CommandErrors.Failed),
            (new ErrnoException(Errno.ECONNRESET, "the host closed the connection"), CommandErrors.HostLost),
            (new AggregateException(new ErrnoException(Errno.EPIPE, "gone")), CommandErrors.HostLost),
            (new InvalidOperationException("a bug"), CommandErrors.Failed),
        };
        foreach (var (thrown, expected) in cases)
        {
            var (code, lines) = await Run(thrown);
            Assert.Equal(expected, code);
            Assert.Single(lines);
            Assert.Contains($" work: {thrown.InnerException?.Message ?? ""}", lines[0]);
            Assert.DoesNotContain(" at ", lines[0]);
        }
    }

    [Fact]
    public async Task An_unexpected_exception_is_an_internal_error_whose_trace_only_verbose_shows()
    {
        var (code, lines) = await Run(new InvalidOperationException("a bug"));
        Assert.Equal(CommandErrors.Failed, code);
        Assert.Contains("internal error: InvalidOperationException: a bug (--verbose shows where)", Assert.Single(lines));

        var (verboseCode, verbose) = await Run(new InvalidOperationException("a bug"), "--verbose");
        Assert.Equal(CommandErrors.Failed, verboseCode);
        Assert.True(verbose.Length > 1, string.Join("\n", verbose));
        Assert.Contains(verbose, l => l.Contains("System.InvalidOperationException: a bug"));
    }
}
