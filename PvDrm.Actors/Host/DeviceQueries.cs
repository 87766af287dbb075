using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Host;

/// <summary>
/// GET_VERSION, GET_PARAM and GET_CAP: questions about the device that need no actor's state.
/// The guest's link answers them on the I/O loop, sparing the hop to the guest actor (the bulk of
/// a small request's round trip), when the device answers without blocking; the guest actor
/// answers the rest the same way.
/// </summary>
internal static class DeviceQueries
{
    public static bool IsQuery(Request request) => request is GetVersion or GetParam or GetCap;

    /// <summary>Answers <paramref name="request"/> from <paramref name="device"/> if it is a device query.</summary>
    public static bool TryAnswer(Request request, IGpuDevice device)
    {
        switch (request)
        {
            case GetVersion r:
                r.Reply(Replies.Version.From(device.Info));
                return true;
            case GetParam r:
                if (device.TryGetParam(r.Param, out ulong param)) r.Reply(new Replies.Value(param));
                else r.Fail(Errno.EINVAL, $"GET_PARAM: parameter {r.Param} is not known to {device.Info.Driver}");
                return true;
            case GetCap r:
                if (device.TryGetCap(r.Cap, out ulong cap)) r.Reply(new Replies.Value(cap));
                else r.Fail(Errno.EINVAL, $"GET_CAP: capability {r.Cap} is not known to {device.Info.Driver}");
                return true;
            default:
                return false;
        }
    }
}
