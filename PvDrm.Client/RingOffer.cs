using PvDrm.Protocol;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;

namespace PvDrm.Client;

/// <summary>
/// The client's side of RING_ATTACH (PROTOCOL.md, Shared-memory ring), shared by DrmClient and the
/// guest proxy's link to the host: over a Unix socket it creates a ring before HELLO and, when the
/// server's HELLO offers rings, sends its memfd (<see cref="AttachAsync"/>, which
/// <see cref="ClientLink"/> runs after HELLO); the server's answer brings the request doorbell.
/// Refused or not offered, the socket carries on alone.
/// </summary>
public static class RingOffer
{
    /// <summary>
    /// The connection to say HELLO over: a ring-capable one when <paramref name="enabled"/> and the
    /// socket can pass the memfd; <paramref name="poll"/>: how long the reply reader polls (null: auto).
    /// </summary>
    public static Connection Wrap(Connection connection, bool enabled, RingShape shape, TimeSpan? poll)
    {
        if (!enabled || connection is not SeqPacketConnection) return connection;
        if (Check(shape) is { } why) throw new ArgumentOutOfRangeException(nameof(shape), $"RingShape: {why}");
        return new RingClientConnection(connection, shape, poll ?? RingClientConnection.AutoPoll);
    }

    /// <summary>Null when a client may offer a ring of <paramref name="shape"/>, else why not.</summary>
    public static string? Check(RingShape shape) => shape.SlotSize < MinSlotSize
        ? $"slots of at least {MinSlotSize} bytes hold a GEM_READ/GEM_WRITE chunk"
        : shape.Check(new RingLimits { MaxBytes = ulong.MaxValue, MaxSlots = int.MaxValue, MaxSlotSize = int.MaxValue });

    /// <summary>The smallest slot that holds a 4 KiB GEM_WRITE chunk with its headers.</summary>
    public const int MinSlotSize = 8192;

    /// <summary>
    /// After HELLO: attaches the ring when <paramref name="capabilities"/> offer one, asking with
    /// <paramref name="ask"/>. Returns the largest frame the ring carries (requests must fit it, so
    /// they all keep one order), or null when frames stay on the socket.
    /// </summary>
    internal static async Task<int?> AttachAsync(Connection connection, uint capabilities, Func<Request, Task<ReplyFrame>> ask)
    {
        if (connection is not RingClientConnection ring) return null;
        if ((capabilities & ProtocolLimits.CapabilityRing) == 0 || ring.Memfd is not { } memfd)
        {
            ring.Decline();
            return null;
        }
        var reply = await ask(new Requests.RingAttach(0) { Fd = memfd });
        if (reply.Status < 0 || reply.TakeFd() is not { } doorbell)
        {
            ring.Decline();
            return null;
        }
        ring.Attach(doorbell);
        return ring.SlotSize;
    }
}
