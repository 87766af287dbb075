using PvDrm.Cli;
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
/// configuration the host uses (`--config`), so several hosts can run side by side. How long one
/// waits is the host's to say (<see cref="ControlProtocol.AnswerWithin"/>): a long request reports
/// its progress every second, shown on stderr, and only a silent host is given up on.
/// </summary>
internal static class AdminCommands
{
    public static Command Status()
    {
        var config = ConfigOption();
        var json = new Option<bool>("--json") { Description = "print the status as JSON, for scripts" };
        var watch = new Option<bool>("--watch", "-w") { Description = "refresh the status in place until Ctrl+C" };
        var interval = CommandValues.Number("--interval", "seconds between refreshes with --watch", 1.0, 0.1, 3600);
        var count = CommandValues.Int("--count", "with --watch: stop after this many refreshes (0: never)", 0, 0, int.MaxValue);
        var cluster = new Option<bool>("--cluster") { Description = "the whole pool: every node, its state, devices and the guests placed on them" };
        var command = new Command("status", "Show the running host's guests, objects, memory, requests and latencies") { config, json, watch, interval, count, cluster };
        command.SetAction(async (parse, ct) =>
        {
            string path = ControlPath(parse.GetValue(config));
            if (parse.GetValue(cluster))
            {
                var pool = await Send(path, new Request("cluster-status"), "status");
                if (!pool.Ok || pool.Cluster == null) return Failed(pool);
                if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(pool.Cluster, Json));
                else AnsiConsole.Write(StatusView.Pool(pool.Cluster));
                return CommandErrors.Success;
            }
            if (parse.GetValue(watch))
                return await StatusView.Watch(() => ControlClient.SendAsync(path, new Request("status"), Silence),
                    TimeSpan.FromSeconds(parse.GetValue(interval)), parse.GetValue(count), ct);
            var response = await Send(path, new Request("status"), "status");
            if (!response.Ok || response.Status == null) return Failed(response);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(response.Status, Json));
            else AnsiConsole.Write(StatusView.Render(response.Status));
            return CommandErrors.Success;
        });
        return command;
    }

    public static Command Evict()
    {
        var config = ConfigOption();
        var guest = CommandValues.NonEmpty(new Argument<string>("guest") { Description = "the guest's name" }, "a guest's name");
        var json = JsonOption();
        var command = new Command("evict", "Disconnect a guest and release everything it holds") { guest, config, json };
        command.SetAction(parse => Answer(ControlPath(parse.GetValue(config)), new Request("evict", parse.GetValue(guest)), parse.GetValue(json), "evict"));
        return command;
    }

    public static Command Set()
    {
        var config = ConfigOption();
        var key = CommandValues.OneOf(new Argument<string>("key") { Description = "what to set: sequential" }, "sequential");
        var value = CommandValues.OneOf(new Argument<string>("value") { Description = "on or off" }, "on", "off");
        var json = JsonOption();
        var command = new Command("set", "Change a running host's setting: sequential on|off (after in-flight work drains)") { key, value, config, json };
        command.SetAction(parse => Answer(ControlPath(parse.GetValue(config)),
            new Request("set", Key: parse.GetValue(key), Value: parse.GetValue(value)), parse.GetValue(json), "set", "in-flight work to drain"));
        return command;
    }

    public static Command Devices()
    {
        var config = ConfigOption();
        var json = new Option<bool>("--json") { Description = "print the devices as JSON, for scripts" };
        var command = new Command("devices", "Show the running host's devices: kind, memory, what lives on them, which guests are attached") { config, json };
        command.SetAction(async parse =>
        {
            var response = await Send(ControlPath(parse.GetValue(config)), new Request("devices"), "devices");
            if (!response.Ok || response.Devices == null) return Failed(response);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(response.Devices, Json));
            else AnsiConsole.Write(StatusView.Devices(response.Devices));
            return CommandErrors.Success;
        });
        return command;
    }

    /// <summary>`reload`: the host reads its configuration again (tokens, uid bindings, guests' devices, sharing groups), as on SIGHUP.</summary>
    public static Command Reload()
    {
        var config = ConfigOption();
        var json = JsonOption();
        var command = new Command("reload", "Read the running host's configuration again: tokens, uid bindings, guests' devices and sharing groups, without dropping a guest")
        {
            config, json,
        };
        command.SetAction(parse => Answer(ControlPath(parse.GetValue(config)), new Request("reload"), parse.GetValue(json), "reload"));
        return command;
    }

    /// <summary>`attach --guest G --device D` (PVDRM's `tools/vdrm DEVICE DOMAIN`), and `detach --guest G`.</summary>
    public static Command Attach(bool attach)
    {
        var config = ConfigOption();
        var guest = CommandValues.Text("--guest", "the guest's name (as it says in HELLO)");
        guest.Required = true;
        var device = CommandValues.Text("--device", "the device's name (pvdrm-host devices)");
        device.Required = true;
        var json = JsonOption();
        var command = attach
            ? new Command("attach", "Give a guest a device; its contexts on another device are closed first") { guest, device, config, json }
            : new Command("detach", "Take a guest's device away: its contexts are closed and what they held released; it stays connected") { guest, config, json };
        command.SetAction(parse => Answer(ControlPath(parse.GetValue(config)),
            new Request(command.Name, parse.GetValue(guest), Value: attach ? parse.GetValue(device) : null), parse.GetValue(json), command.Name,
            "the guest's contexts to close"));
        return command;
    }

    private static Option<string?> ConfigOption() =>
        CommonOptions.Config("the host's HOCON file, to find its control socket (pvdrm.host.control.unix)");

    private static string ControlPath(string? configFile) =>
        HostSettings.Create(PvDrmConfig.Load(configFile)).ControlUnix
        ?? throw new Akka.Configuration.ConfigurationException("pvdrm.host.control.unix is empty: this host has no control socket");

    private static Option<bool> JsonOption() => new("--json") { Description = "print the answer as JSON ({\"ok\": ..., \"message\": ...}), for scripts" };

    /// <summary>
    /// Sends a command whose answer is a message: printed on stdout (exit 0) or stderr (exit 1);
    /// with <paramref name="json"/>, as one JSON object on stdout either way (same exit codes).
    /// </summary>
    private static async Task<int> Answer(string path, Request request, bool json, string what, string waitingFor = "the host")
    {
        var response = await Send(path, request, what, waitingFor);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { ok = response.Ok, message = response.Message }));
            return response.Ok ? CommandErrors.Success : CommandErrors.Failed;
        }
        if (!response.Ok) return Failed(response);
        Console.WriteLine(response.Message);
        return CommandErrors.Success;
    }

    /// <summary>Sends a request, showing on stderr how long a long one has run and by when the host answers.</summary>
    private static Task<Response> Send(string path, Request request, string what, string waitingFor = "the host") =>
        ControlClient.SendAsync(path, request, Silence, p =>
            Console.Error.WriteLine($"pvdrm-host {what}: waiting for {waitingFor}: {p.ElapsedSeconds:F0} s (the host answers within {p.AnswerWithinSeconds:F0} s)"));

    internal static int Failed(Response response)
    {
        Console.Error.WriteLine(response.Message);
        return CommandErrors.Failed;
    }
}
