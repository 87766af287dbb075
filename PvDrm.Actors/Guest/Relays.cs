using PvDrm.Protocol;

namespace PvDrm.Actors.Guest;

/// <summary>How the proxy answers an application's request with what the host answered.</summary>
internal static class Relays
{
    /// <summary>Answers <paramref name="appRequest"/> with the host's status, <paramref name="payload"/> and message (and descriptor).</summary>
    public static void Relay(this Request appRequest, ReplyFrame reply, ReadOnlySpan<byte> payload)
    {
        using var fd = reply.TakeFd();
        appRequest.TakeReplyTo()?.Complete(appRequest, reply.Status, reply.Status == 0 ? payload : default, reply.Message, fd, null);
    }

    /// <summary>Answers <paramref name="appRequest"/> with the host's reply as it is.</summary>
    public static void Relay(this Request appRequest, ReplyFrame reply) => appRequest.Relay(reply, reply.Payload);

    /// <summary>Answers <paramref name="appRequest"/> with <paramref name="payload"/> in place of the host's (translated ids).</summary>
    public static void Relay<T>(this Request appRequest, ReplyFrame reply, in T payload) where T : IReplyPayload<T>
    {
        Span<byte> buffer = stackalloc byte[payload.Size];
        var w = new WireWriter(buffer);
        payload.Write(ref w);
        appRequest.Relay(reply, buffer);
    }
}
