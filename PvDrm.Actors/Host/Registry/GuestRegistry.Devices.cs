using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Registry;

/// <summary>Which device each guest gets: `attach`, `detach` and `grant` of the operator, remembered across connections.</summary>
internal sealed partial class GuestRegistry
{
    /// <summary>The device a guest gets: the operator's last attach or detach, else its configured one, else the default.</summary>
    private string? DeviceNameFor(string guest) =>
        _attached.TryGetValue(guest, out var attached) ? attached
        : _settings.GuestDevices.TryGetValue(guest, out var configured) ? configured
        : _devices.Default;

    /// <summary>
    /// `attach --guest G --device D` and `detach --guest G`: remembered for the guest's later
    /// connections too; a connected guest's actor makes the change and answers.
    /// </summary>
    /// <param name="wanted">The device's name; null: detach.</param>
    private ControlProtocol.Response? Attach(string name, string? wanted)
    {
        bool attach = wanted != null;
        if (Pooled) return AssignInPool(name, wanted);
        var device = attach ? _devices.Find(wanted!) : null;
        if (attach && device == null)
            return new ControlProtocol.Response(false, $"no device named '{wanted}' on this host (devices: {string.Join(", ", _devices.All.Select(d => d.Name))})");
        bool connected = _guests.TryGetValue(name, out var guest);
        if (!connected && !_seen.Contains(name) && !_settings.GuestDevices.ContainsKey(name) && !_admission.IsGranted(name))
            return new ControlProtocol.Response(false, $"no guest named '{name}' has connected to this host, and {HostSettings.Root}.guests does not list it");
        _attached[name] = device?.Name;
        string reason = attach ? $"attached to {device!.Name} by the operator" : "detached by the operator";
        if (connected)
        {
            guest.Actor.Forward(new GuestProtocol.Attach(device, reason));
            return null;
        }
        return new ControlProtocol.Response(true, attach
            ? $"guest {name} is not connected; it gets device {device!.Name} when it connects"
            : $"guest {name} is not connected; it gets no device when it connects, until attached");
    }

    /// <summary>
    /// `grant`: a container's share. Binds the guest's name to a token (<see cref="Admission.Grant"/>)
    /// and, with a device in <c>key</c>, attaches the guest to it as `attach` does.
    /// </summary>
    private ControlProtocol.Response? Grant(AdminCommand.Grant r)
    {
        if (string.IsNullOrEmpty(r.Guest) || !DeviceSettings.ValidName().IsMatch(r.Guest))
            return new ControlProtocol.Response(false, $"grant needs a valid guest name, not '{r.Guest}'");
        if (r.Device is { } device && _devices.Find(device) == null && !Pooled)
            return new ControlProtocol.Response(false, $"no device named '{device}' on this host (devices: {string.Join(", ", _devices.All.Select(d => d.Name))})");
        if (_admission.Grant(r.Guest, r.Token) is { } refused) return new ControlProtocol.Response(false, refused);
        _log.Info("guest {Guest} was granted a token{Device}", r.Guest, r.Device == null ? "" : $" for device {r.Device}");
        return r.Device == null ? new ControlProtocol.Response(true, $"guest {r.Guest} was granted a token")
            : Attach(r.Guest, r.Device);
    }
}
