using PvDrm.Cli;
using System.CommandLine;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Host.Containers;

namespace PvDrm.Host.DevicePlugin;

/// <summary>`pvdrm-host device-plugin`: offers this host's shares to the kubelet as pvdrm.io/gpu.</summary>
internal static class DevicePluginCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config("the host's HOCON file: its devices, sockets and pvdrm.k8s settings");
        var socketDir = CommandValues.Text("--socket-dir", "the kubelet's device-plugin folder (pvdrm.k8s.socket-dir)");
        var command = new Command("device-plugin",
            "Run the Kubernetes device plugin: advertise each device as pvdrm.k8s.shares-per-device shares and hand them to pods")
        {
            config, socketDir,
        };
        command.SetAction(async (parse, ct) =>
        {
            var hocon = PvDrmConfig.Load(parse.GetValue(config),
                PvDrmConfig.Overrides(ContainerSettings.Root, ("socket-dir", parse.GetValue(socketDir))));
            var host = HostSettings.Create(hocon);
            var settings = ContainerSettings.Create(hocon);
            var context = new PluginContext(settings,
                host.ListenUnix ?? throw new Akka.Configuration.ConfigurationException($"{HostSettings.Root}.listen.unix is empty: pods reach the host through it"),
                host.ControlUnix ?? throw new Akka.Configuration.ConfigurationException($"{HostSettings.Root}.control.unix is empty: share tokens are granted through it"));
            if (!Directory.Exists(settings.SocketDir))
                throw new Akka.Configuration.ConfigurationException($"{ContainerSettings.Root}.socket-dir: {settings.SocketDir} does not exist (is this a Kubernetes node?)");
            var board = new ShareBoard(settings.Shares(host));
            void Log(string line) => Console.Error.WriteLine($"pvdrm-host device-plugin: {line}");
            Log($"{settings.ResourceName}: {board.Snapshot().List.Devices.Count} share(s) in {settings.SocketDir}");
            await Task.WhenAll(
                new HealthWatch(board, context).RunAsync(ct),
                new KubeletLink(board, context, Log).RunAsync(ct),
                ReportFree(board, settings, Log, ct));
            return CommandErrors.Success;
        });
        return command;
    }

    /// <summary>Logs the free shares per device whenever they change: what an operator or extender reads on the node.</summary>
    private static async Task ReportFree(ShareBoard board, ContainerSettings settings, Action<string> log, CancellationToken ct)
    {
        string last = "";
        while (!ct.IsCancellationRequested)
        {
            var (version, _) = board.Snapshot();
            string now = string.Join(", ", board.FreeByDevice().OrderBy(f => f.Key).Select(f => $"{f.Key} {f.Value}"));
            if (now != last) log($"free {settings.ResourceName} shares: {(now.Length == 0 ? "none" : now)}");
            last = now;
            try
            {
                await board.ChangedSince(version).WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
