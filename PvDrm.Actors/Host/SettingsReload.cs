using Akka.Configuration;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>pvdrm-host reload</c> and SIGHUP: the host reads its configuration again (the same file,
/// environment and flags it started with) and takes from it what can change without dropping a
/// guest: tokens (<c>auth.tokens-file</c>), uid bindings (<c>auth.*</c>), guests' devices
/// (<c>guests.&lt;g&gt;.device</c>) and <c>sharing.groups</c>. A file that does not load, or
/// names a device this host does not have, is refused whole and the running settings stay.
/// Connected guests keep their connections; the new settings decide the next HELLO, the next
/// connection's device and the next import.
/// </summary>
public sealed class SettingsReload(Func<HostSettings> read)
{
    /// <summary>The reloadable part of the configuration as it reads now, or why it cannot be used.</summary>
    public (HostSettings Settings, Admission Admission)? TryRead(HostSettings running, HostDevices devices, out string? error)
    {
        try
        {
            var fresh = read();
            var admission = Admission.Load(fresh.Auth);
            DeviceFactory.CheckGuestDevices(fresh, devices.All);
            error = null;
            return (running with { Auth = fresh.Auth, GuestDevices = fresh.GuestDevices, SharingGroups = fresh.SharingGroups }, admission);
        }
        catch (Exception e) when (e is ConfigurationException or IOException or UnauthorizedAccessException)
        {
            error = $"reload refused, the running settings are kept: {e.Message}";
            return null;
        }
    }
}
