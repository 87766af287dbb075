namespace PvDrm.Host.Containers;

/// <summary>
/// One container's place on a device: its id is the CDI device name, the device plugin's device
/// id and the guest's name on the host (so `pvdrm-host status` shows which share a guest is).
/// </summary>
/// <param name="Attach">The device to attach the guest to; null: the host's default device.</param>
internal sealed record Share(string Id, string Device, string? Attach);
