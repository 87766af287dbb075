using Akka.Actor;
using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm/devices/&lt;name&gt;</c>: a configured device as an actor, answering questions
/// about it. Guests call the (thread-safe) device directly for work; the root disposes it after
/// every guest is gone.
/// </summary>
internal sealed class DeviceActor : ReceiveActor
{
    public DeviceActor(IGpuDevice device)
    {
        Receive<PvDrmHost.GetDeviceStats>(_ => Sender.Tell(device.GetStats()));
    }

    public static Props Props(IGpuDevice device) => Akka.Actor.Props.Create(() => new DeviceActor(device));
}

/// <summary><c>/user/pvdrm/devices</c>: parent of one <see cref="DeviceActor"/> per device.</summary>
internal sealed class Devices : ReceiveActor
{
    public Devices(IReadOnlyList<IGpuDevice> devices)
    {
        foreach (var device in devices) Context.ActorOf(DeviceActor.Props(device), device.Name);
    }

    public static Props Props(IReadOnlyList<IGpuDevice> devices) => Akka.Actor.Props.Create(() => new Devices(devices));
}
