using System.CommandLine;
using Akka.Configuration;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Host.Demo;
using Serilog.Events;

namespace PvDrm.Host;

/// <summary>The command line of pvdrm-host.</summary>
internal static class HostCommands
{
    public static Command Serve()
    {
        var config = new Option<string?>("--config") { Description = "HOCON file with pvdrm.host.* settings" };
        var listen = new Option<string?>("--listen") { Description = "guest socket, unix:PATH (pvdrm.host.listen.unix)" };
        var sequential = new Option<string?>("--sequential") { Description = "on: one request at a time (pvdrm.host.sequential)" };
        sequential.AcceptOnlyFromAmong("on", "off");
        var logFormat = CommonOptions.LogFormat();
        var command = new Command("serve", "Run the host daemon until SIGINT or SIGTERM") { config, listen, sequential, logFormat };
        command.SetAction(async (parse, ct) =>
        {
            return await CommandErrors.Report("pvdrm-host serve", async () =>
            {
                string? path = parse.GetValue(listen) is { } l ? ProxySettings.UnixPath(l) : null;
                var overrides = PvDrmConfig.Overrides(HostSettings.Root, ("listen.unix", path), ("sequential", parse.GetValue(sequential)))
                    + "\n" + CommonOptions.LogOverrides(parse, logFormat);
                var hocon = PvDrmConfig.Load(parse.GetValue(config), overrides);
                using var app = BuildHost(hocon, HostSettings.Create(hocon));
                await app.RunAsync(ct);
                return 0;
            });
        });
        return command;
    }

    public static Command Demo()
    {
        var guests = new Option<int>("--guests") { Description = "guest proxies to start", DefaultValueFactory = _ => 3 }.Range(1, 32);
        var size = new Option<int>("--size") { Description = "matrix size of each guest's GEMM workload", DefaultValueFactory = _ => 512 }.Range(8, 2048);
        var iterations = new Option<int>("--iterations") { Description = "timed, verified pushbufs per guest", DefaultValueFactory = _ => 8 }.Range(1, 100);
        var command = new Command("demo", "Run a host on SoftGpu with several guests doing verified GEMM work, concurrent then sequential")
        {
            guests, size, iterations,
        };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host demo", () =>
            new DemoRunner(parse.GetValue(guests), parse.GetValue(size), parse.GetValue(iterations)).RunAsync(ct)));
        return command;
    }

    public static Command Soak()
    {
        var guests = new Option<int>("--guests") { Description = "guest processes running at a time", DefaultValueFactory = _ => 6 }.Range(1, 64);
        var seconds = new Option<int>("--duration") { Description = "seconds to run", DefaultValueFactory = _ => 60 }.Range(1, 86400);
        var killMs = new Option<int>("--kill-every") { Description = "milliseconds between SIGKILLs of a random guest", DefaultValueFactory = _ => 500 }.Range(10, 600_000);
        var size = new Option<int>("--size") { Description = "matrix size of the guests' GEMM workloads", DefaultValueFactory = _ => 128 }.Range(8, 1024);
        var seed = new Option<int>("--seed") { Description = "seed of the random choices", DefaultValueFactory = _ => 1 };
        var command = new Command("soak", "Run many guests and SIGKILL them at random for a while; report what was served and prove nothing leaked")
        {
            guests, seconds, killMs, size, seed,
        };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host soak", () =>
            new Soak.SoakRunner(parse.GetValue(guests), TimeSpan.FromSeconds(parse.GetValue(seconds)),
                TimeSpan.FromMilliseconds(parse.GetValue(killMs)), parse.GetValue(size), parse.GetValue(seed)).RunAsync(ct)));
        return command;
    }

    /// <summary>
    /// Starts a host built by <see cref="BuildHost"/> and returns once it listens: the root actor
    /// answers only after its start-up made the sockets, so guests started next can connect.
    /// </summary>
    public static async Task StartListeningAsync(IHost host, CancellationToken ct)
    {
        await host.StartAsync(ct);
        var root = host.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<PvDrmHost>();
        await root.Ask<string[]>(PvDrmHost.GetListening.Instance, TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>The host daemon as a generic host: the same composition `serve` and the demo run.</summary>
    public static IHost BuildHost(Config config, HostSettings settings, LogEventLevel? level = null)
    {
        var admission = Admission.Load(settings.Auth);
        var cluster = Actors.Host.Pool.ClusterSettings.Create(config);
        var devices = DeviceFactory.CreateAll(settings, line => Console.Error.WriteLine($"pvdrm-host: {line}"));
        return PvDrmApplication.Build("pvdrm", config, akka => akka.WithPvDrmHost(settings, devices, admission, cluster), level);
    }
}
