using System.Threading.Channels;
using Grpc.Core;
using PvDrm.Host.DevicePlugin.V1Beta1;

namespace PvDrm.Host.DevicePlugin;

/// <summary>
/// Keeps the plugin registered with the kubelet: serves the plugin's socket and registers it, and
/// again each time kubelet.sock is created (a restarting kubelet removes every socket in its
/// folder, then makes kubelet.sock anew and forgets its plugins).
/// </summary>
internal sealed class KubeletLink(ShareBoard board, PluginContext context, Action<string> log)
{
    private static readonly TimeSpan RegisterWithin = TimeSpan.FromSeconds(10);

    public async Task RunAsync(CancellationToken ct)
    {
        string dir = context.Settings.SocketDir;
        string kubelet = Path.Combine(dir, PluginContext.KubeletSocket);
        var created = Channel.CreateUnbounded<bool>();
        using var watcher = new FileSystemWatcher(dir, PluginContext.KubeletSocket);
        watcher.Created += (_, _) => created.Writer.TryWrite(true);
        watcher.EnableRaisingEvents = true;
        while (!ct.IsCancellationRequested)
        {
            await using (var server = await PluginServer.StartAsync(Path.Combine(dir, context.Endpoint), board, context, ct))
            {
                if (File.Exists(kubelet)) await RegisterAsync(kubelet, ct);
                else log($"waiting for {kubelet}");
                // Registered (or waiting): until the kubelet's socket is made again.
                try
                {
                    await created.Reader.ReadAsync(ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                while (created.Reader.TryRead(out _)) { }
                log($"{kubelet} was created again: registering anew");
            }
        }
    }

    private async Task RegisterAsync(string kubelet, CancellationToken ct)
    {
        try
        {
            using var channel = UnixGrpc.Channel(kubelet);
            await new Registration.RegistrationClient(channel).RegisterAsync(new RegisterRequest
            {
                Version = PluginContext.ApiVersion,
                Endpoint = context.Endpoint,
                ResourceName = context.Settings.ResourceName,
                Options = PluginContext.Options,
            }, deadline: DateTime.UtcNow + RegisterWithin, cancellationToken: ct);
            log($"registered {context.Settings.ResourceName} with the kubelet at {kubelet}");
        }
        catch (RpcException e)
        {
            // The kubelet refused or is not there yet: the next kubelet.sock it makes brings another try.
            log($"registration with {kubelet} failed: {e.Status.StatusCode}: {e.Status.Detail}");
        }
    }
}
