using Microsoft.Extensions.Hosting;

namespace PvDrm.Cli;

/// <summary>
/// The host's lifetime when a command line runs it: System.CommandLine already handles SIGINT and
/// SIGTERM and cancels the token the command waits on, which stops the host. The generic host's
/// own console lifetime would handle the same signal a second time, and when it stopped the host
/// first, System.CommandLine's handler ran after its command had ended and crashed the process.
/// </summary>
internal sealed class CommandLineLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
