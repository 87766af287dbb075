using System.CommandLine;
using Akka.Configuration;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Cli;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Host.Demo;
using Serilog.Events;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Host;

/// <summary>The command line of pvdrm-host.</summary>
internal static class HostCommands
{
    public static Command Serve()
    {
        var config = CommonOptions.Config("HOCON file with pvdrm.host.* settings");
        var listen = CommandValues.Endpoint("--listen", "guest socket, unix:PATH (pvdrm.host.listen.unix)", unixOnly: true);
        var sequential = CommandValues.OneOf("--sequential", "on: one request at a time (pvdrm.host.sequential)", "on", "off");
        var logFormat = CommonOptions.LogFormat();
        var set = ConfigCommand.Set();
        var command = new Command("serve", "Run the host daemon until SIGINT or SIGTERM") { config, listen, sequential, logFormat, set };
        command.SetAction(async (parse, ct) =>
        {
            string? path = parse.GetValue(listen) is { } l ? ProxySettings.UnixPath(l) : null;
            var overrides = PvDrmConfig.Overrides(HostSettings.Root, ("listen.unix", path), ("sequential", parse.GetValue(sequential)))
                + "\n" + CommonOptions.LogOverrides(parse, logFormat);
            var hocon = ConfigCommand.Layers(parse, config, set, overrides).Effective;
            // reload and SIGHUP read the same layers again: the file, the environment and these flags.
            var reload = new SettingsReload(() => HostSettings.Create(ConfigCommand.Layers(parse, config, set, overrides).Effective));
            using var app = BuildHost(hocon, reload: reload);
            using var systemd = SystemdNotifier.FromEnvironment();
            string[] listening;
            try
            {
                listening = await StartListeningAsync(app, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await app.StopAsync(CancellationToken.None); // SIGTERM while starting: a clean stop, not a failure
                return CommandErrors.Success;
            }
            // Type=notify: systemd counts the host started only now that guests can connect.
            systemd.Ready($"listening on {string.Join(", ", listening)}");
            systemd.StartWatchdog(PvDrm.Native.Io.EventLoop.Default);
            // SIGHUP: read the configuration again, as `pvdrm-host reload` does; the host logs the outcome.
            var root = app.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<PvDrmHost>();
            using var hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                root.Tell(new Actors.Host.Control.ControlProtocol.Request("reload"));
            });
            await app.WaitForShutdownAsync(ct);
            return CommandErrors.Success;
        });
        return command;
    }

    /// <summary>`pvdrm-host config check|show`: what serve would read, checked as serve checks it.</summary>
    public static Command Config() =>
        ConfigCommand.Create("HOCON file with pvdrm.host.* settings", [HostSettings.Root, "pvdrm.cluster", "pvdrm.log"], hocon =>
        {
            var settings = HostSettings.Create(hocon);
            Actors.Host.Pool.ClusterSettings.Create(hocon);
            PvDrmApplication.LogSettings(hocon);
            Admission.Load(settings.Auth);
        });

    public static Command Demo()
    {
        var guests = CommandValues.Int("--guests", "guest proxies to start", 3, 1, 32);
        var size = CommandValues.Int("--size", "matrix size of each guest's GEMM workload", 512, 8, 2048);
        var iterations = CommandValues.Int("--iterations", "timed, verified pushbufs per guest", 8, 1, 100);
        var command = new Command("demo", "Run a host on SoftGpu with several guests doing verified GEMM work, concurrent then sequential")
        {
            guests, size, iterations,
        };
        command.SetAction((parse, ct) =>
            new DemoRunner(parse.GetValue(guests), parse.GetValue(size), parse.GetValue(iterations)).RunAsync(ct));
        return command;
    }

    public static Command Soak()
    {
        var guests = CommandValues.Int("--guests", "guest processes running at a time", 6, 1, 64);
        var seconds = CommandValues.Int("--duration", "seconds to run", 60, 1, 86400);
        var killMs = CommandValues.Int("--kill-every", "milliseconds between SIGKILLs of a random guest", 500, 10, 600_000);
        var size = CommandValues.Int("--size", "matrix size of the guests' GEMM workloads", 128, 8, 1024);
        var seed = CommandValues.Int("--seed", "seed of the random choices", 1, 0, int.MaxValue);
        var command = new Command("soak", "Run many guests and SIGKILL them at random for a while; report what was served and prove nothing leaked")
        {
            guests, seconds, killMs, size, seed,
        };
        command.SetAction((parse, ct) =>
            new Soak.SoakRunner(parse.GetValue(guests), TimeSpan.FromSeconds(parse.GetValue(seconds)),
                TimeSpan.FromMilliseconds(parse.GetValue(killMs)), parse.GetValue(size), parse.GetValue(seed)).RunAsync(ct));
        return command;
    }

    /// <summary>
    /// Starts a host built by <see cref="BuildHost"/> and returns once it listens: the root actor
    /// answers only after its start-up made the sockets, so guests started next can connect.
    /// </summary>
    public static async Task<string[]> StartListeningAsync(IHost host, CancellationToken ct)
    {
        await host.StartAsync(ct);
        var root = host.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<PvDrmHost>();
        return await root.Ask<string[]>(PvDrmHost.GetListening.Instance, TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>
    /// The host daemon as a generic host: the same composition `serve`, the demo and the soak run,
    /// <see cref="PvDrmHosting.WithPvDrmHost(Akka.Hosting.AkkaConfigurationBuilder, Action{PvDrmHostOptions})"/>
    /// over <paramref name="config"/> (the file, environment and flag layers) in the console shell.
    /// </summary>
    public static IHost BuildHost(Config config, LogEventLevel? level = null, SettingsReload? reload = null)
    {
        // Opened before anything starts: a device that cannot open is one line and exit 2, not a failed start.
        var devices = DeviceFactory.CreateAll(HostSettings.Create(config), line => Console.Error.WriteLine($"pvdrm-host: {line}"));
        return PvDrmApplication.Build("pvdrm", config, akka => akka.WithPvDrmHost(o =>
        {
            o.Config = config;
            o.Reload = reload;
            o.Devices = devices;
        }), level);
    }
}
