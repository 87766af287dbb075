using PvDrm.Native.Interop;
using PvDrm.Native.Io.Ring;

namespace PvDrm.Protocol;

/// <summary>The shared-memory ring's side of a server link: RING_ATTACH, answered on the loop (PROTOCOL.md).</summary>
public abstract partial class ServerLink
{
    /// <summary>
    /// RING_ATTACH: adopts the peer's ring (its memfd is the request's descriptor) and returns the
    /// request doorbell to send back, or throws <see cref="ErrnoException"/> to refuse. Links that
    /// offer no ring refuse (EOPNOTSUPP).
    /// </summary>
    protected virtual FileDescriptor AcceptRing(Requests.RingAttach attach) =>
        throw new ErrnoException(Errno.EOPNOTSUPP, "RING_ATTACH: this server offers no shared-memory ring");

    /// <summary>
    /// The ring path every server shares (the host's guest links, the proxy's application links):
    /// adopts the peer's ring (sealed, its shape checked once against <paramref name="limits"/>,
    /// one per connection) and returns the request doorbell. <paramref name="limits"/> null: rings
    /// are off here, which <paramref name="enabledKey"/> turns on.
    /// </summary>
    protected FileDescriptor AdoptRing(Requests.RingAttach attach, RingLimits? limits, string enabledKey)
    {
        var memfd = attach.TakeFd()!;
        if (limits == null || Connection is not RingServerConnection ring)
        {
            memfd.Dispose();
            throw new ErrnoException(Errno.EOPNOTSUPP, limits != null
                ? $"RING_ATTACH: a {Connection.Transport} connection has no shared-memory ring (Unix sockets only)"
                : $"RING_ATTACH: the shared-memory ring is off here ({enabledKey})");
        }
        return ring.Attach(memfd, limits);
    }

    /// <summary>What HELLO offers of the ring: <see cref="ProtocolLimits.CapabilityRing"/> when this connection can take one.</summary>
    public uint RingCapability => Connection is RingServerConnection ? ProtocolLimits.CapabilityRing : 0;

    /// <summary>Answered here, on the loop: the ring is the connection's business, not an actor's.</summary>
    private void AttachRing(Requests.RingAttach attach)
    {
        try
        {
            using var doorbell = AcceptRing(attach);
            // Session set-up like HELLO: not a served request (refusals still count as errors).
            SendReply(attach.Op, attach.RequestId, 0, 0, default, null, doorbell);
        }
        catch (ErrnoException e)
        {
            attach.TakeFd()?.Dispose();
            Refuse(attach.Header, e.Errno, e.Message);
        }
    }
}
