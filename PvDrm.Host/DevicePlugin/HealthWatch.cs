using PvDrm.Actors.Host.Control;

namespace PvDrm.Host.DevicePlugin;

/// <summary>
/// Asks the host for its devices every <c>pvdrm.k8s.health-interval</c> over its control socket:
/// a share whose device is gone, or every share when the host does not answer, is Unhealthy.
/// </summary>
internal sealed class HealthWatch(ShareBoard board, PluginContext context)
{
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            IReadOnlySet<string>? devices;
            try
            {
                var answer = await ControlClient.SendAsync(context.ControlSocket, new ControlProtocol.Request("devices"), ControlProtocol.Silence);
                devices = answer is { Ok: true, Devices: { } list } ? list.Select(d => d.Name).ToHashSet() : null;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                devices = null;
            }
            board.HostDevices(devices);
            try
            {
                await Task.Delay(context.Settings.HealthInterval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
