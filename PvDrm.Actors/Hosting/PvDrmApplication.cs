using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;

namespace PvDrm.Actors;

/// <summary>
/// The shell both executables share: a generic host with Serilog console logging, Akka's own
/// logs routed into it, the HOCON configuration, and graceful stop on SIGINT/SIGTERM.
/// </summary>
public static class PvDrmApplication
{
    public static IHost Build(string systemName, Config config, Action<AkkaConfigurationBuilder> actors, LogEventLevel level = LogEventLevel.Information)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSerilog((LoggerConfiguration log) => log
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Console(
                outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext}: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddAkka(systemName, (akka, _) =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend);
            // Akka's own stdout logger covers start-up and shutdown, outside the routed loggers.
            akka.AddHocon($"akka.stdout-loglevel = {(level >= LogEventLevel.Warning ? "WARNING" : "INFO")}", HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = level switch
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
}
