using System.CommandLine;
using System.Text.Json;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using Spectre.Console;
using static PvDrm.Actors.Host.Control.ControlProtocol;

namespace PvDrm.Host;

/// <summary>
/// Admin commands against a running host: they read <c>pvdrm.host.control.unix</c> from the same
/// configuration the host uses (`--config`), so several hosts can run side by side.
/// </summary>
internal static class AdminCommands
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Command Status()
    {
        var config = ConfigOption();
        var json = new Option<bool>("--json") { Description = "print the status as JSON, for scripts" };
        var watch = new Option<bool>("--watch", "-w") { Description = "refresh the status in place until Ctrl+C" };
        var interval = new Option<double>("--interval") { Description = "seconds between refreshes with --watch", DefaultValueFactory = _ => 1.0 };
        var count = new Option<int>("--count") { Description = "with --watch: stop after this many refreshes (0: never)" };
        var cluster = new Option<bool>("--cluster") { Description = "the whole pool: every node, its state, devices and the guests placed on them" };
        var command = new Command("status", "Show the running host's guests, objects, memory, requests and latencies") { config, json, watch, interval, count, cluster };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host status", async () =>
        {
            string path = ControlPath(parse.GetValue(config));
            if (parse.GetValue(cluster))
            {
                var pool = await ControlClient.SendAsync(path, new Request("cluster-status"), Timeout);
                if (!pool.Ok || pool.Cluster == null) return Failed(pool);
                if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(pool.Cluster, Json));
                else AnsiConsole.Write(StatusView.Pool(pool.Cluster));
                return 0;
            }
            if (parse.GetValue(watch))
                return await StatusView.Watch(() => ControlClient.SendAsync(path, new Request("status"), Timeout),
                    TimeSpan.FromSeconds(Math.Max(parse.GetValue(interval), 0.1)), parse.GetValue(count), ct);
            var response = await ControlClient.SendAsync(path, new Request("status"), Timeout);
            if (!response.Ok || response.Status == null) return Failed(response);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(response.Status, Json));
            else AnsiConsole.Write(StatusView.Render(response.Status));
            return 0;
        }));
        return command;
    }

    public static Command Evict()
    {
        var config = ConfigOption();
        var guest = new Argument<string>("guest") { Description = "the guest's name" };
        var command = new Command("evict", "Disconnect a guest and release everything it holds") { guest, config };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host evict", async () =>
        {
            var response = await ControlClient.SendAsync(ControlPath(parse.GetValue(config)), new Request("evict", parse.GetValue(guest)), Timeout);
            if (!response.Ok) return Failed(response);
            Console.WriteLine(response.Message);
            return 0;
        }));
        return command;
    }

    public static Command Set()
    {
        var config = ConfigOption();
        var key = new Argument<string>("key") { Description = "what to set: sequential" };
        key.AcceptOnlyFromAmong("sequential");
        var value = new Argument<string>("value") { Description = "on or off" };
        value.AcceptOnlyFromAmong("on", "off");
        var command = new Command("set", "Change a running host's setting: sequential on|off (after in-flight work drains)") { key, value, config };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host set", async () =>
        {
            var response = await ControlClient.SendAsync(ControlPath(parse.GetValue(config)),
                new Request("set", Key: parse.GetValue(key), Value: parse.GetValue(value)), TimeSpan.FromSeconds(60));
            if (!response.Ok) return Failed(response);
            Console.WriteLine(response.Message);
            return 0;
        }));
        return command;
    }

    public static Command Devices()
    {
        var config = ConfigOption();
        var json = new Option<bool>("--json") { Description = "print the devices as JSON, for scripts" };
        var command = new Command("devices", "Show the running host's devices: kind, memory, what lives on them, which guests are attached") { config, json };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host devices", async () =>
        {
            var response = await ControlClient.SendAsync(ControlPath(parse.GetValue(config)), new Request("devices"), Timeout);
            if (!response.Ok || response.Devices == null) return Failed(response);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(response.Devices, Json));
            else AnsiConsole.Write(StatusView.Devices(response.Devices));
            return 0;
        }));
        return command;
    }

    /// <summary>`attach --guest G --device D` (PVDRM's `tools/vdrm DEVICE DOMAIN`), and `detach --guest G`.</summary>
    public static Command Attach(bool attach)
    {
        var config = ConfigOption();
        var guest = new Option<string>("--guest") { Description = "the guest's name (as it says in HELLO)", Required = true };
        var device = new Option<string>("--device") { Description = "the device's name (pvdrm-host devices)", Required = true };
        var command = attach
            ? new Command("attach", "Give a guest a device; its contexts on another device are closed first") { guest, device, config }
            : new Command("detach", "Take a guest's device away: its contexts are closed and what they held released; it stays connected") { guest, config };
        command.SetAction(async (parse, ct) => await CommandErrors.Report($"pvdrm-host {command.Name}", async () =>
        {
            var request = new Request(command.Name, parse.GetValue(guest), Value: attach ? parse.GetValue(device) : null);
            var response = await ControlClient.SendAsync(ControlPath(parse.GetValue(config)), request, TimeSpan.FromSeconds(60));
            if (!response.Ok) return Failed(response);
            Console.WriteLine(response.Message);
            return 0;
        }));
        return command;
    }

    private static Option<string?> ConfigOption() =>
        new("--config") { Description = "the host's HOCON file, to find its control socket (pvdrm.host.control.unix)" };

    private static string ControlPath(string? configFile) =>
        HostSettings.Create(PvDrmConfig.Load(configFile)).ControlUnix
        ?? throw new Akka.Configuration.ConfigurationException("pvdrm.host.control.unix is empty: this host has no control socket");

    internal static int Failed(Response response)
    {
        Console.Error.WriteLine(response.Message);
        return 1;
    }
}
