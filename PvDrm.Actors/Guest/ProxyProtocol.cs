using PvDrm.Protocol;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest;

/// <summary>The guest proxy's internal conversation.</summary>
public static class ProxyProtocol
{
    /// <summary>An application connected to the proxy's socket.</summary>
    public sealed record AppConnected(Connection Connection);

    /// <summary>
    /// The host answered a forwarded request (or the proxy refused it, or the link was lost):
    /// the actor that forwarded it runs <paramref name="Then"/>, the continuation it gave with the request.
    /// </summary>
    internal sealed record UpstreamReply(ReplyFrame Reply, Action<ReplyFrame> Then)
    {
        public void Run() => Then(Reply);
    }

    /// <summary>An application's connection is gone: close its host contexts and stop.</summary>
    internal sealed record AppClosed(string Reason);

    /// <summary>The connection to the host is gone.</summary>
    internal sealed record UpstreamLost(string Reason);
}
