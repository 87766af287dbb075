using PvDrm.Cli;
using System.CommandLine;
using System.Text.Json;
using Akka.Configuration;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Interop;

namespace PvDrm.Guest;

/// <summary>The command line of pvdrm-guest.</summary>
internal static class GuestCommands
{
    public static Command Serve()
    {
        var config = CommonOptions.Config("HOCON file with pvdrm.guest.* settings");
        var host = CommandValues.Endpoint("--host", "the host to connect to: unix:PATH, tcp:HOST:PORT or vsock:CID:PORT (pvdrm.guest.host)", unixOnly: false);
        var listen = CommandValues.Endpoint("--listen", "where to serve applications, unix:PATH (pvdrm.guest.listen)", unixOnly: true);
        var name = CommandValues.Text("--name", "this guest's name in HELLO (default: the machine's host name)");
        var token = CommandValues.Text("--token", "the token to present, if the host requires one (visible in the process list: prefer --token-file or PVDRM_TOKEN)");
        var tokenFile = CommonOptions.TokenFile();
        var shim = CommandValues.Endpoint("--shim", "also serve unmodified DRM programs (pvdrm-guest exec) on this socket, unix:PATH (pvdrm.guest.shim.unix)", unixOnly: true);
        var logFormat = CommonOptions.LogFormat();
        var set = ConfigCommand.Set();
        var command = new Command("serve", "Run the guest proxy") { config, host, listen, name, token, tokenFile, shim, logFormat, set };
        command.SetAction(async (parse, ct) =>
        {
            var overrides = PvDrmConfig.Overrides(ProxySettings.Root,
                ("host", parse.GetValue(host)), ("listen", parse.GetValue(listen)),
                ("name", parse.GetValue(name)), ("token", CommonOptions.Token(parse, token, tokenFile)), ("shim.unix", parse.GetValue(shim)))
                + "\n" + CommonOptions.LogOverrides(parse, logFormat);
            return await ServeAsync(ConfigCommand.Layers(parse, config, set, overrides).Effective, ct);
        });
        return command;
    }

    /// <summary>`pvdrm-guest config check|show`: what serve would read, checked as serve checks it.</summary>
    public static Command Config() =>
        ConfigCommand.Create("HOCON file with pvdrm.guest.* settings", [ProxySettings.Root, "pvdrm.log"], hocon =>
        {
            ProxySettings.Create(hocon);
            PvDrmApplication.LogSettings(hocon);
        });

    private static async Task<int> ServeAsync(Config config, CancellationToken ct)
    {
        var settings = ProxySettings.Create(config);
        PvDrmApplication.LogSettings(config);
        using var systemd = SystemdNotifier.FromEnvironment();
        var upstream = await UpstreamConnector.ConnectAsync(settings, (why, wait) =>
        {
            Console.Error.WriteLine($"pvdrm-guest serve: waiting for the host: {why}; next attempt in {wait.TotalSeconds:0.##} s");
            systemd.Notify($"STATUS=waiting for the host at {settings.Host}: {why}");
        }, ct);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var app = BuildProxy(config, upstream, r => lost.TrySetResult(r));
        await app.StartAsync(ct);
        // The proxy's mailbox runs only after its PreStart made the listening socket: once it
        // answers, applications can connect, and systemd hears READY=1.
        var proxy = app.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<GuestProxy>();
        await proxy.Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), TimeSpan.FromSeconds(30), ct);
        systemd.Ready($"serving {settings.Listen} for host {settings.Host}");
        systemd.StartWatchdog(PvDrm.Native.Io.EventLoop.Default);
        var stopped = app.WaitForShutdownAsync(ct);
        if (await Task.WhenAny(stopped, lost.Task) == lost.Task)
        {
            await app.StopAsync(CancellationToken.None);
            Console.Error.WriteLine($"pvdrm-guest serve: connection to the host lost: {lost.Task.Result}");
            return CommandErrors.HostLost;
        }
        return CommandErrors.Success;
    }

    /// <summary>
    /// The guest proxy as a generic host: the composition `serve` runs,
    /// <see cref="PvDrmHosting.WithPvDrmGuest(Akka.Hosting.AkkaConfigurationBuilder, Action{PvDrmGuestOptions})"/>
    /// over <paramref name="config"/> in the console shell, on a link to the host already made.
    /// </summary>
    public static Microsoft.Extensions.Hosting.IHost BuildProxy(Config config, UpstreamLink upstream, Action<string> lost) =>
        PvDrmApplication.Build("pvdrm-guest", config, akka => akka.WithPvDrmGuest(o =>
        {
            o.Config = config;
            o.Upstream = upstream;
            o.UpstreamLost = lost;
        }));

    public static Command Status()
    {
        var config = CommonOptions.Config("the proxy's HOCON file, to find its control socket (pvdrm.guest.control.unix)");
        var json = new Option<bool>("--json") { Description = "print the status as JSON" };
        var command = new Command("status", "Show a running proxy's applications and GEM cache counters") { config, json };
        command.SetAction(async parse =>
        {
            var settings = ProxySettings.Create(PvDrmConfig.Load(parse.GetValue(config)));
            string path = settings.ControlUnix ?? throw new ConfigurationException("pvdrm.guest.control.unix is empty: this proxy has no control socket");
            var response = await ControlClient.SendAsync(path, new ControlProtocol.Request("status"), ControlProtocol.Silence);
            if (response.Proxy is not { } p)
            {
                Console.Error.WriteLine($"pvdrm-guest status: {response.Message}");
                return CommandErrors.Failed;
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(p, ControlProtocol.Json));
            else
                Console.WriteLine($"guest {p.Name} on {p.Host}: {p.Applications} application(s)\n" +
                    $"GEM cache: {p.Cache.Objects} objects, {p.Cache.Bytes / 1048576.0:F1} MiB; {p.Cache.Hits} hits, {p.Cache.Misses} misses, " +
                    $"{p.Cache.Evictions} evictions, {p.Cache.ScrubbedBytes / 1048576.0:F1} MiB scrubbed, {p.Cache.RoundTripsSaved} host round trips saved");
            return CommandErrors.Success;
        });
        return command;
    }

    public static Command Run()
    {
        var workload = CommandValues.OneOf(new Argument<string>("workload") { Description = "the workload to run: gemm" }, GemmWorkload.Name);
        var host = CommandValues.Endpoint("--host", "the host or proxy to use: unix:PATH, tcp:HOST:PORT or vsock:CID:PORT", unixOnly: false, "unix:/run/pvdrm/guest.sock");
        var name = CommandValues.Text("--name", "the name in HELLO (default: $PVDRM_CREDENTIALS/name, else the machine's host name)");
        var token = CommandValues.Text("--token", "the token to present, if the host requires one (visible in the process list: prefer --token-file, PVDRM_TOKEN or $PVDRM_CREDENTIALS/token)");
        var tokenFile = CommonOptions.TokenFile();
        var size = CommandValues.Int("--size", "matrix size n (n x n float32)", 256, 1, 4096);
        var iterations = CommandValues.Int("--iterations", "pushbufs to submit and verify", 4, 1, 10000);
        var seed = CommandValues.Int("--seed", "seed of the random input matrices", 1, 0, int.MaxValue);
        var copy = new Option<bool>("--copy") { Description = "move data with GEM_READ/GEM_WRITE even where mapping is possible" };
        var json = new Option<bool>("--json") { Description = "print the result as one JSON object" };
        var startAt = CommandValues.OptionalNumber("--start-at", "start the timed iterations at this Unix time in ms (to line several guests up)", 0, 1e13);
        var command = new Command("run", "Run a built-in workload and verify its results against a CPU reference")
        {
            workload, host, name, token, tokenFile, size, iterations, seed, copy, json, startAt,
        };
        command.SetAction(async (parse, ct) =>
        {
            var explicitToken = CommonOptions.Token(parse, token, tokenFile) ?? Environment.GetEnvironmentVariable(ConfigLayers.TokenVariable);
            var (guestName, guestToken) = GuestCredentials.Resolve(parse.GetValue(name), explicitToken, Environment.MachineName);
            var options = new DrmClientOptions { Name = guestName, Token = guestToken };
            await using var client = await DrmClient.ConnectAsync(parse.GetValue(host)!, options, ct);
            var result = await new GemmWorkload
            {
                Size = parse.GetValue(size),
                Iterations = parse.GetValue(iterations),
                Seed = parse.GetValue(seed),
                ForceCopy = parse.GetValue(copy),
                StartAtMs = parse.GetValue(startAt),
            }.RunAsync(client);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            else
                Console.WriteLine($"{result.Workload} {result.Size}x{result.Size} x{result.Iterations} on {parse.GetValue(host)} ({result.DataPath}): " +
                    $"{result.Commands} commands, {result.Bytes / 1048576.0:F1} MiB moved, {result.ElapsedMs:F0} ms, {result.Gflops:F2} GFLOP/s, " +
                    (result.Verified ? "verified" : $"WRONG: {result.Error}"));
            return result.Verified ? CommandErrors.Success : CommandErrors.Failed;
        });
        return command;
    }

    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
