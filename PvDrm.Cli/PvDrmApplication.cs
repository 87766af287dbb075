using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

using PvDrm.Actors;

namespace PvDrm.Cli;

/// <summary>
/// The shell both executables share: a generic host with Serilog console logging, Akka's own
/// logs routed into it, and graceful stop on SIGINT/SIGTERM through System.CommandLine's token;
/// <paramref name="actors"/> adds the composition (WithPvDrmHost / WithPvDrmGuest).
/// </summary>
public static class PvDrmApplication
{
    /// <param name="level">Overrides <c>pvdrm.log.level</c> (the demo keeps its own output quiet).</param>
    public static IHost Build(string systemName, Config config, Action<AkkaConfigurationBuilder> actors, LogEventLevel? level = null)
    {
        var (format, configured) = LogSettings(config);
        var minimum = level ?? configured;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSerilog((LoggerConfiguration log) =>
        {
            log.MinimumLevel.Is(minimum)
                .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
                .Enrich.FromLogContext();
            // Events carry named properties (Guest, Context, Op, Errno, Reason...): json keeps them for
            // log collectors, one compact object per line (@t, @m, @l, then the properties).
            if (format == "json")
                log.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose);
            else if (Journald.IsStderr())
                // journald keeps its own timestamps and reads the severity from a <N> prefix (sd-daemon(3)).
                log.Enrich.With<Journald.SeverityPrefix>().WriteTo.Console(
                    outputTemplate: "{SyslogPrefix}{SourceContext}: {Message:lj}{NewLine}{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose);
            else
                log.WriteTo.Console(
                    outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}",
                    standardErrorFromLevel: LogEventLevel.Verbose);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>(); // one SIGTERM handler, System.CommandLine's
        builder.Services.AddAkka(systemName, (akka, _) =>
        {
            // The configuration itself goes in with the composition (WithPvDrmHost / WithPvDrmGuest
            // add their options over reference.conf); this shell adds only its console's lines.
            // Akka's own stdout logger covers start-up and shutdown, outside the routed loggers:
            // only its warnings matter (stdout belongs to the commands' results).
            akka.AddHocon("akka.stdout-loglevel = WARNING", HoconAddMode.Prepend);
            // SIGTERM is System.CommandLine's to handle (its token stops the host, which stops the
            // actor system). Akka's own CLR hook would run a second shutdown from the signal and
            // race the command's end, crashing the process after a clean stop.
            akka.AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = minimum switch
                {
                    <= LogEventLevel.Debug => Akka.Event.LogLevel.DebugLevel,
                    LogEventLevel.Information => Akka.Event.LogLevel.InfoLevel,
                    LogEventLevel.Warning => Akka.Event.LogLevel.WarningLevel,
                    _ => Akka.Event.LogLevel.ErrorLevel,
                };
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            actors(akka);
        });
        return builder.Build();
    }

    /// <summary><c>pvdrm.log.format</c> (text | json) and <c>pvdrm.log.level</c>, checked.</summary>
    public static (string Format, LogEventLevel Level) LogSettings(Config config)
    {
        var c = new SettingsReader(PvDrmConfig.OverReference(config), "pvdrm.log");
        string format = c.String("format");
        if (format is not ("text" or "json"))
            throw new ConfigurationException($"pvdrm.log.format: '{format}' is not text or json");
        var level = c.String("level") switch
        {
            "debug" => LogEventLevel.Debug,
            "info" => LogEventLevel.Information,
            "warning" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            var other => throw new ConfigurationException($"pvdrm.log.level: '{other}' is not debug, info, warning or error"),
        };
        return (format, level);
    }
}
