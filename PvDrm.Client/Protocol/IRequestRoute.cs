using PvDrm.Native.Gpu;

namespace PvDrm.Protocol;

/// <summary>
/// The host's side of a request's path: the route its gate had published when the request took
/// it (PvDrm.Actors' Host/Gate). It hears when the request is answered. Host-only; the codec
/// carries it so that a request needs no wrapper on its way through the actors.
/// </summary>
internal interface IRequestRoute
{
    /// <summary>The request was answered; <paramref name="work"/>: GPU work it still runs.</summary>
    void Answered(Request request, GpuFence? work);
}
