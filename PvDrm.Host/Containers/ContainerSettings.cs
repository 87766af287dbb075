using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Actors.Host;

namespace PvDrm.Host.Containers;

/// <summary>
/// <c>pvdrm.k8s</c>: how a host's devices are offered to containers, as shares, by the CDI spec
/// (pvdrm-host cdi generate) and the kubelet device plugin (pvdrm-host device-plugin).
/// </summary>
internal sealed record ContainerSettings
{
    public const string Root = "pvdrm.k8s";

    /// <summary>The CDI kind and the Kubernetes extended resource: vendor/class.</summary>
    public string ResourceName { get; init; } = "pvdrm.io/gpu";

    /// <summary>How many containers one device is offered to at a time.</summary>
    public int SharesPerDevice { get; init; } = 4;

    /// <summary>The kubelet's device-plugin folder: kubelet.sock, and where the plugin's socket goes.</summary>
    public string SocketDir { get; init; } = "/var/lib/kubelet/device-plugins";

    /// <summary>libpvdrm_shim.so on the host, mounted read-only into each container.</summary>
    public string Shim { get; init; } = "/usr/lib/pvdrm/libpvdrm_shim.so";

    /// <summary>Where each share's name and token files are written on the host (a folder per share).</summary>
    public string CredentialsDir { get; init; } = "/run/pvdrm/shares";

    /// <summary>Allocate also names each share as a CDI device, for kubelets and runtimes with CDI on (needs the spec of cdi generate).</summary>
    public bool CdiDevices { get; init; }

    /// <summary>How often the device plugin asks the host which devices it has (share health).</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(5);

    public static ContainerSettings Create(Config config)
    {
        var c = new SettingsReader(PvDrmConfig.OverReference(config), Root);
        string resource = c.String("resource-name");
        if (!System.Text.RegularExpressions.Regex.IsMatch(resource, "^[a-z0-9]([a-z0-9.-]*[a-z0-9])?/[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$"))
            throw new ConfigurationException($"{Root}.resource-name: '{resource}' is not vendor/class (as pvdrm.io/gpu)");
        var settings = new ContainerSettings
        {
            ResourceName = resource,
            SharesPerDevice = c.Int("shares-per-device", 1, 1024),
            SocketDir = Absolute(c, "socket-dir"),
            Shim = Absolute(c, "shim"),
            CredentialsDir = Absolute(c, "credentials-dir"),
            CdiDevices = c.Bool("cdi-devices"),
            HealthInterval = c.Duration("health-interval"),
        };
        if (settings.HealthInterval <= TimeSpan.Zero) throw new ConfigurationException($"{Root}.health-interval: must be more than 0");
        return settings;
    }

    /// <summary>The shares of a host's configured devices: N per device, in configuration order.</summary>
    public IReadOnlyList<Share> Shares(HostSettings host)
    {
        // A host with the single device of pvdrm.host.device serves it as the default device: its
        // shares need no attachment (null), and are named after the default name.
        var devices = host.Devices.Count > 0
            ? host.Devices.Select(d => (Name: d.Name, Attach: (string?)d.Name))
            : [(Name: DeviceSettings.DefaultName, Attach: null)];
        return devices.SelectMany(d => Enumerable.Range(0, SharesPerDevice).Select(i => new Share($"{d.Name}-{i}", d.Name, d.Attach))).ToList();
    }

    private static string Absolute(SettingsReader c, string key)
    {
        string value = c.String(key);
        return Path.IsPathRooted(value) ? value : throw new ConfigurationException($"{Root}.{key}: '{value}' is not an absolute path");
    }
}
