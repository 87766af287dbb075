using PvDrm.Host.Containers;
using PvDrm.Host.DevicePlugin.V1Beta1;

namespace PvDrm.Host.DevicePlugin;

/// <summary>What the plugin's services share: the host's sockets and the pvdrm.k8s settings.</summary>
internal sealed record PluginContext(ContainerSettings Settings, string HostSocket, string ControlSocket)
{
    /// <summary>The API version the plugin speaks.</summary>
    public const string ApiVersion = "v1beta1";

    /// <summary>The kubelet's registration socket in the device-plugin folder.</summary>
    public const string KubeletSocket = "kubelet.sock";

    /// <summary>No PreStartContainer call is needed; GetPreferredAllocation spreads shares over devices.</summary>
    public static DevicePluginOptions Options => new() { PreStartRequired = false, GetPreferredAllocationAvailable = true };

    /// <summary>The plugin's socket name in the folder, derived from the resource name (pvdrm.io/gpu: pvdrm.io-gpu.sock).</summary>
    public string Endpoint => Settings.ResourceName.Replace('/', '-') + ".sock";
}
