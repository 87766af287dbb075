using PvDrm.Protocol;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;

namespace PvDrm.Client;

/// <summary>
/// The client's side of RING_ATTACH (PROTOCOL.md, Shared-memory ring): over a Unix socket it
/// creates a ring before HELLO and, when the host's HELLO offers rings, sends its memfd; the
/// host's answer brings the request doorbell. Refused or not offered, the socket carries on alone.
/// </summary>
internal static class RingOffer
{
    /// <summary>The connection to say HELLO over: a ring-capable one when the options ask for a ring and the socket can pass its memfd.</summary>
    public static Connection Wrap(Connection connection, DrmClientOptions options)
    {
        if (!options.Ring || connection is not SeqPacketConnection) return connection;
        string? why = options.RingShape.SlotSize < MinSlotSize
            ? $"slots of at least {MinSlotSize} bytes hold a GEM_READ/GEM_WRITE chunk"
            : options.RingShape.Check(new RingLimits { MaxBytes = ulong.MaxValue, MaxSlots = int.MaxValue, MaxSlotSize = int.MaxValue });
        if (why != null) throw new ArgumentOutOfRangeException(nameof(options), $"RingShape: {why}");
        return new RingClientConnection(connection, options.RingShape, options.RingPoll ?? RingClientConnection.AutoPoll);
    }

    /// <summary>The smallest slot that holds a 4 KiB GEM_WRITE chunk with its headers.</summary>
    private const int MinSlotSize = 8192;

    /// <summary>
    /// After HELLO: attaches the ring when <paramref name="capabilities"/> offer one. Returns the
    /// largest frame the ring carries (requests must fit it, so they all keep one order), or null
    /// when frames stay on the socket.
    /// </summary>
    public static async Task<int?> AttachAsync(DrmClient client, Connection connection, uint capabilities)
    {
        if (connection is not RingClientConnection ring) return null;
        if ((capabilities & ProtocolLimits.CapabilityRing) == 0 || ring.Memfd is not { } memfd)
        {
            ring.Decline();
            return null;
        }
        var reply = await client.SendRawAsync(new Requests.RingAttach(0) { Fd = memfd });
        if (reply.Status < 0 || reply.TakeFd() is not { } doorbell)
        {
            ring.Decline();
            return null;
        }
        ring.Attach(doorbell);
        return ring.SlotSize;
    }
}
