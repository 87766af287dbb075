using Serilog.Core;
using Serilog.Events;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Cli;

/// <summary>
/// Text logs under systemd: when stderr is the journal's stream (<c>JOURNAL_STREAM</c> names its
/// device and inode, as systemd.exec(5) describes), each line starts with its syslog severity,
/// <c>&lt;3&gt;</c> to <c>&lt;7&gt;</c>, so <c>journalctl -p warning</c> finds the warnings.
/// </summary>
internal static class Journald
{
    public static bool IsStderr()
    {
        string? stream = Environment.GetEnvironmentVariable("JOURNAL_STREAM");
        if (stream?.Split(':') is not [var dev, var ino]) return false;
        try
        {
            using var stderr = new FileDescriptor(2, ownsHandle: false);
            var (device, inode) = MemFd.Identity(stderr);
            return dev == device.ToString() && ino == inode.ToString();
        }
        catch (ErrnoException)
        {
            return false; // no stderr
        }
    }

    /// <summary>Adds <c>SyslogPrefix</c>: the event's severity as sd-daemon's prefix.</summary>
    public sealed class SeverityPrefix : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory factory) =>
            logEvent.AddPropertyIfAbsent(factory.CreateProperty("SyslogPrefix", logEvent.Level switch
            {
                LogEventLevel.Fatal => "<2>",
                LogEventLevel.Error => "<3>",
                LogEventLevel.Warning => "<4>",
                LogEventLevel.Information => "<6>",
                _ => "<7>",
            }));
    }
}
