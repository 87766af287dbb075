using PvDrm.Cli;
using System.CommandLine;
using System.Text.Json;
using PvDrm.Actors;
using PvDrm.Actors.Host;

namespace PvDrm.Host.Containers;

/// <summary>
/// `pvdrm-host cdi generate` and `pvdrm-host cdi list`: a host's shares as a CDI spec, so that a
/// CDI-aware runtime gives a container a share with one flag (`--device pvdrm.io/gpu=soft0-0`).
/// </summary>
internal static class CdiCommands
{
    public const string DefaultOutput = "/etc/cdi";

    public static Command Create()
    {
        var command = new Command("cdi", "Offer this host's devices to containers through the Container Device Interface");
        command.Add(Generate());
        command.Add(List());
        return command;
    }

    private static Command Generate()
    {
        var config = CommonOptions.Config("the host's HOCON file: its devices, sockets and pvdrm.k8s settings");
        var output = CommandValues.Text("--output", $"folder of the spec file (default {DefaultOutput})");
        var command = new Command("generate",
            "Write the CDI spec of this host's shares, minting each share's token on the running host (run again after the host restarts)")
        {
            config, output,
        };
        command.SetAction(async parse =>
        {
            var hocon = PvDrmConfig.Load(parse.GetValue(config));
            var host = HostSettings.Create(hocon);
            var settings = ContainerSettings.Create(hocon);
            string socket = host.ListenUnix ?? throw new Akka.Configuration.ConfigurationException($"{HostSettings.Root}.listen.unix is empty: containers reach the host through it");
            string control = host.ControlUnix ?? throw new Akka.Configuration.ConfigurationException($"{HostSettings.Root}.control.unix is empty: share tokens are granted through it");
            var shares = new List<(Share, ContainerEdits)>();
            foreach (var share in settings.Shares(host))
            {
                await ShareCredentials.MintAsync(share, control, settings);
                shares.Add((share, ContainerEdits.For(share, socket, settings)));
            }
            string folder = parse.GetValue(output) ?? DefaultOutput;
            Directory.CreateDirectory(folder);
            string path = Path.Combine(folder, CdiSpec.FileName(settings.ResourceName));
            File.WriteAllText(path + ".new", CdiSpec.Build(settings.ResourceName, shares).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(path + ".new", path, overwrite: true);
            Console.WriteLine($"{path}: {shares.Count} share(s) of kind {settings.ResourceName}");
            return CommandErrors.Success;
        });
        return command;
    }

    private static Command List()
    {
        var config = CommonOptions.Config("the host's HOCON file (pvdrm.k8s.resource-name)");
        var output = CommandValues.Text("--output", $"folder of the spec file (default {DefaultOutput})");
        var command = new Command("list", "Show the shares the CDI spec offers, as a runtime names them") { config, output };
        command.SetAction(parse =>
        {
            var settings = ContainerSettings.Create(PvDrmConfig.Load(parse.GetValue(config)));
            string path = Path.Combine(parse.GetValue(output) ?? DefaultOutput, CdiSpec.FileName(settings.ResourceName));
            if (!File.Exists(path))
                throw new Akka.Configuration.ConfigurationException($"{path} does not exist: run pvdrm-host cdi generate first");
            foreach (var (name, device) in CdiSpec.Devices(File.ReadAllText(path)))
                Console.WriteLine($"{settings.ResourceName}={name}\t(device {device})");
            return CommandErrors.Success;
        });
        return command;
    }
}
