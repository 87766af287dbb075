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
        var command = new Command("status", "Show the running host's guests, objects, memory and requests") { config, json };
        command.SetAction(async (parse, ct) => await CommandErrors.Report("pvdrm-host status", async () =>
        {
            var response = await ControlClient.SendAsync(ControlPath(parse.GetValue(config)), new Request("status"), Timeout);
            if (!response.Ok || response.Status == null) return Failed(response);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(response.Status, Json));
            else Print(response.Status);
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

    private static Option<string?> ConfigOption() =>
        new("--config") { Description = "the host's HOCON file, to find its control socket (pvdrm.host.control.unix)" };

    private static string ControlPath(string? configFile) =>
        HostSettings.Create(PvDrmConfig.Load(configFile)).ControlUnix
        ?? throw new Akka.Configuration.ConfigurationException("pvdrm.host.control.unix is empty: this host has no control socket");

    private static int Failed(Response response)
    {
        Console.Error.WriteLine(response.Message);
        return 1;
    }

    private static void Print(HostStatus status)
    {
        var d = status.Device;
        AnsiConsole.MarkupLine($"[bold]PvDrm host[/]: {status.Mode} mode, device {d.Name} ({d.Driver}): " +
            $"{d.LiveBuffers} buffers, {d.LiveBytes / 1048576.0:F1} MiB, {d.LiveChannels} channels, {d.Running} pushbufs running, {d.Completed}/{d.Submitted} completed");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in new[] { "guest", "transport", "uptime", "contexts", "objects", "memory", "channels", "queued", "in flight", "served", "errors" })
            table.AddColumn(c);
        foreach (var g in status.Guests)
            table.AddRow(g.Name, g.Transport, $"{TimeSpan.FromSeconds(g.UptimeSeconds):hh\\:mm\\:ss}", $"{g.Contexts}", $"{g.Objects}",
                $"{g.Bytes / 1048576.0:F1} MiB", $"{g.Channels}", $"{g.QueuedPushbufs}", $"{g.InFlight}", $"{g.Served}",
                g.Errors.Count == 0 ? "-" : string.Join(", ", g.Errors.Select(e => $"{e.Key} {e.Value}")));
        AnsiConsole.Write(table);
    }
}
