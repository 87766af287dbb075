using System.CommandLine;
using System.Text.Json;
using Akka.Configuration;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host.Control;
using PvDrm.Guest.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Interop;

namespace PvDrm.Guest;

/// <summary>The command line of pvdrm-guest.</summary>
internal static class GuestCommands
{
    public static Command Serve()
    {
        var config = new Option<string?>("--config") { Description = "HOCON file with pvdrm.guest.* settings" };
        var host = new Option<string?>("--host") { Description = "the host to connect to, unix:PATH (pvdrm.guest.host)" };
        var listen = new Option<string?>("--listen") { Description = "where to serve applications, unix:PATH (pvdrm.guest.listen)" };
        var name = new Option<string?>("--name") { Description = "this guest's name in HELLO (default: the machine's host name)" };
        var token = new Option<string?>("--token") { Description = "the token to present, if the host requires one" };
        var shim = new Option<string?>("--shim") { Description = "also serve unmodified DRM programs (pvdrm-guest exec) on this socket, unix:PATH (pvdrm.guest.shim.unix)" };
        var logFormat = CommonOptions.LogFormat();
        var command = new Command("serve", "Run the guest proxy") { config, host, listen, name, token, shim, logFormat };
        command.SetAction(async (parse, ct) =>
        {
            var overrides = PvDrmConfig.Overrides(ProxySettings.Root,
                ("host", parse.GetValue(host)), ("listen", parse.GetValue(listen)),
                ("name", parse.GetValue(name)), ("token", parse.GetValue(token)), ("shim.unix", parse.GetValue(shim)))
                + "\n" + CommonOptions.LogOverrides(parse, logFormat);
            return await CommandErrors.Report("pvdrm-guest serve", () => ServeAsync(PvDrmConfig.Load(parse.GetValue(config), overrides), ct));
        });
        return command;
    }

    private static async Task<int> ServeAsync(Config config, CancellationToken ct)
    {
        var settings = ProxySettings.Create(config);
        var upstream = await UpstreamLink.ConnectAsync(settings, ct);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var app = PvDrmApplication.Build("pvdrm-guest", config, akka => akka.WithPvDrmGuest(settings, upstream, r => lost.TrySetResult(r)));
        await app.StartAsync(ct);
        var stopped = app.WaitForShutdownAsync(ct);
        if (await Task.WhenAny(stopped, lost.Task) == lost.Task)
        {
            await app.StopAsync(CancellationToken.None);
            Console.Error.WriteLine($"pvdrm-guest serve: connection to the host lost: {lost.Task.Result}");
            return 3;
        }
        return 0;
    }

    public static Command Status()
    {
        var config = new Option<string?>("--config") { Description = "the proxy's HOCON file, to find its control socket (pvdrm.guest.control.unix)" };
        var json = new Option<bool>("--json") { Description = "print the status as JSON" };
        var command = new Command("status", "Show a running proxy's applications and GEM cache counters") { config, json };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-guest status", async () =>
        {
            var settings = ProxySettings.Create(PvDrmConfig.Load(parse.GetValue(config)));
            string path = settings.ControlUnix ?? throw new ConfigurationException("pvdrm.guest.control.unix is empty: this proxy has no control socket");
            var response = await ControlClient.SendAsync(path, new ControlProtocol.Request("status"), TimeSpan.FromSeconds(10));
            if (response.Proxy is not { } p)
            {
                Console.Error.WriteLine(response.Message);
                return 1;
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(p, ControlProtocol.Json));
            else
                Console.WriteLine($"guest {p.Name} on {p.Host}: {p.Applications} application(s)\n" +
                    $"GEM cache: {p.Cache.Objects} objects, {p.Cache.Bytes / 1048576.0:F1} MiB; {p.Cache.Hits} hits, {p.Cache.Misses} misses, " +
                    $"{p.Cache.Evictions} evictions, {p.Cache.ScrubbedBytes / 1048576.0:F1} MiB scrubbed, {p.Cache.RoundTripsSaved} host round trips saved");
            return 0;
        }));
        return command;
    }

    public static Command Run()
    {
        var workload = new Argument<string>("workload") { Description = "the workload to run: gemm" };
        workload.AcceptOnlyFromAmong(GemmWorkload.Name);
        var host = new Option<string>("--host") { Description = "the host or proxy to use, unix:PATH", DefaultValueFactory = _ => "unix:/run/pvdrm/guest.sock" };
        var name = new Option<string?>("--name") { Description = "the name in HELLO (default: the machine's host name)" };
        var token = new Option<string?>("--token") { Description = "the token to present, if the host requires one" };
        var size = new Option<int>("--size") { Description = "matrix size n (n x n float32)", DefaultValueFactory = _ => 256 }.Range(1, 4096);
        var iterations = new Option<int>("--iterations") { Description = "pushbufs to submit and verify", DefaultValueFactory = _ => 4 }.Range(1, 10000);
        var seed = new Option<int>("--seed") { Description = "seed of the random input matrices", DefaultValueFactory = _ => 1 };
        var copy = new Option<bool>("--copy") { Description = "move data with GEM_READ/GEM_WRITE even where mapping is possible" };
        var json = new Option<bool>("--json") { Description = "print the result as one JSON object" };
        var startAt = new Option<double?>("--start-at") { Description = "start the timed iterations at this Unix time in ms (to line several guests up)" };
        var command = new Command("run", "Run a built-in workload and verify its results against a CPU reference")
        {
            workload, host, name, token, size, iterations, seed, copy, json, startAt,
        };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-guest run", async () =>
        {
            var options = new DrmClientOptions
            {
                Name = parse.GetValue(name) ?? Environment.MachineName,
                Token = parse.GetValue(token) ?? "",
            };
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
            return result.Verified ? 0 : 1;
        }));
        return command;
    }

    public static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
