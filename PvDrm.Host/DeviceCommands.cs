using PvDrm.Cli;
using System.CommandLine;
using System.Text.Json;
using PvDrm.Actors;
using PvDrm.Native.Drm;
using Spectre.Console;

namespace PvDrm.Host;

/// <summary>`pvdrm-host nodes`: the DRM nodes this machine has, and which `device = auto` would take.</summary>
internal static class DeviceCommands
{
    public static Command Nodes()
    {
        var json = new Option<bool>("--json") { Description = "print the nodes as JSON, for scripts" };
        var driver = CommandValues.Text("--driver", "the driver device = auto would look for (pvdrm.host.device-driver)");
        var command = new Command("nodes", "List the DRM nodes of this machine (/dev/dri) and say which one device = auto would use") { json, driver };
        command.SetAction(parse =>
        {
            var scan = DrmDiscovery.Scan();
            var pick = scan.Pick(parse.GetValue(driver), null, out string? reason);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { scan.Nodes, Auto = pick?.Path, Reason = reason ?? scan.Reason },
                    new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
                return CommandErrors.Success;
            }
            if (scan.Nodes.Count == 0) AnsiConsole.MarkupLineInterpolated($"no DRM nodes: {scan.Reason}");
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("node", "kind", "driver", "pci id", "device");
                foreach (var n in scan.Nodes)
                    table.AddRow(n.Path, $"{n.Kind}", n.Driver ?? "?", n.VendorId is { } v ? $"{v:x4}:{n.DeviceId:x4}" : "-", n.SysDevice ?? "-");
                AnsiConsole.Write(table);
            }
            AnsiConsole.MarkupLineInterpolated($"device = auto would use: {(pick != null ? pick.ToString() : $"the embedded SoftGpu ({reason})")}");
            return CommandErrors.Success;
        });
        return command;
    }
}
