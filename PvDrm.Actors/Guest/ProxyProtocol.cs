using PvDrm.Protocol;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>The guest proxy's internal conversation.</summary>
public static class ProxyProtocol
{
    /// <summary>An application connected to the proxy's socket.</summary>
    public sealed record AppConnected(Connection Connection);

    /// <summary>The host answered a request forwarded for <paramref name="AppRequest"/>.</summary>
    internal sealed record UpstreamReply(Request AppRequest, ReplyFrame Reply);

    /// <summary>An application's connection is gone: close its host contexts and stop.</summary>
    internal sealed record AppClosed(string Reason);

    /// <summary>The connection to the host is gone.</summary>
    internal sealed record UpstreamLost(string Reason);
}
