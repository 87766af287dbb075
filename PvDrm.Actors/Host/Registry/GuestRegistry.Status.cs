using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Registry;

/// <summary>The registry's status views: the host, its devices and its guests, as `status` and `devices` show them.</summary>
internal sealed partial class GuestRegistry
{
    /// <param name="engineUse">Each device's engine time, read once for a whole status; null: read here.</param>
    private IReadOnlyList<ControlProtocol.DeviceStatus> DeviceStatuses(IReadOnlyDictionary<Native.Gpu.IGpuDevice, Native.Gpu.EngineUse>? engineUse = null) => _devices.All.Select(device =>
    {
        var d = device.GetStats();
        var guests = _guests.Values.Where(g => g.Session.Device == device).Select(g => g.Session.Name).Order(StringComparer.Ordinal).ToList();
        var use = engineUse?[device] ?? device.GetEngineUse();
        return new ControlProtocol.DeviceStatus(device.Name, HostDevices.KindOf(device), device.Info.Driver, (long)DeviceMemory(device),
            device.Name == _devices.Default, d.LiveBuffers, d.LiveBytes, d.LiveChannels, d.Submitted, d.Completed, d.Running, guests,
            WaitingFor(device.Name), use.Engines, use.BusySeconds);
    }).ToList();

    /// <summary>Guests named for a device (by the operator's attach, else the configuration) that are not connected.</summary>
    private List<string> WaitingFor(string device) =>
        _settings.GuestDevices.Keys.Concat(_attached.Keys).Distinct(StringComparer.Ordinal)
            .Where(g => !_guests.ContainsKey(g) && DeviceNameFor(g) == device)
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>The device's memory for status, 0 when unknown or when asking it fails (an ioctl's EIO must not fail the status, nor the registry).</summary>
    private static ulong DeviceMemory(Native.Gpu.IGpuDevice device)
    {
        try
        {
            return device.TryGetParam(Native.Gpu.DeviceParam.FbSize, out ulong fb) ? fb : 0;
        }
        catch (ErrnoException)
        {
            return 0;
        }
    }

    private ControlProtocol.HostStatus Status()
    {
        var engineUse = _devices.All.ToDictionary(d => d, d => d.GetEngineUse());
        var guests = _guests.Values.Select(g => g.Session).OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new ControlProtocol.GuestStatus(
            s.Name, s.Device?.Name, s.Link.Connection.Transport, s.Link.Connection.PeerName, (DateTime.UtcNow - s.ConnectedAt).TotalSeconds,
            s.Contexts, s.Objects, s.Memory, s.MappedBytes, s.Channels, s.QueuedPushbufs, s.Link.InFlight, s.Link.Served,
            s.Link.Latency.Summary(), s.Link.ErrorsByKind(),
            s.Device != null && engineUse.TryGetValue(s.Device, out var use) ? use.SecondsByOwner.GetValueOrDefault(s.Name) : 0)).ToList();
        var errors = new SortedDictionary<string, long>(_departedErrors, StringComparer.Ordinal);
        foreach (var g in guests)
            foreach (var (kind, count) in g.Errors) errors[kind] = errors.GetValueOrDefault(kind) + count;
        var totals = new ControlProtocol.Totals((long)_nextSession, _departedServed + guests.Sum(g => g.Served), errors);
        return new ControlProtocol.HostStatus(_routes.Current.Sequential ? "sequential" : "concurrent", DeviceStatuses(engineUse), guests, totals, _metrics?.Url);
    }
}
