using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>In sequential mode: answers through the guest's link, then tells the gate its turn is over.</summary>
internal sealed class GatedReplySink : IReplySink
{
    private readonly IReplySink _inner;
    private readonly IActorRef _gate;

    public GatedReplySink(IReplySink inner, IActorRef gate)
    {
        _inner = inner;
        _gate = gate;
    }

    public void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, GpuFence? work)
    {
        _inner.Complete(request, status, payload, message, fd, work);
        _gate.Tell(new GateProtocol.Completed(request, work));
    }
}
