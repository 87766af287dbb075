using System.Buffers.Binary;
using PvDrm.Native.Interop;
using PvDrm.Native.Io.Ring;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.Io.Ring;

/// <summary>The ring's bytes as PROTOCOL.md specifies them (Shared-memory ring).</summary>
public class RingLayoutTests
{
    private static readonly RingShape Small = new(SlotSize: 2048, RequestSlots: 4, ReplySlots: 2);

    private static byte[] Contents(SharedRing ring)
    {
        var bytes = new byte[ring.Shape.Bytes];
        MemFd.ReadAt(ring.Memfd, 0, bytes);
        return bytes;
    }

    private static uint U32(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));

    [Fact]
    public void A_new_ring_is_a_header_page_then_request_slots_then_reply_slots()
    {
        using var ring = SharedRing.Create(Small);
        var bytes = Contents(ring);

        Assert.Equal(4096 + 6 * 2048, bytes.Length);
        Assert.Equal(new byte[] { (byte)'P', (byte)'V', (byte)'R', (byte)'G', 1, 0, 0, 0, 0, 8, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0 }, bytes[..20]);
        // Indexes start at 0; the guest is marked sleeping until its reader runs, so the first reply wakes it.
        foreach (int offset in new[] { 64, 128, 192, 256, 320, 448 }) Assert.Equal(0u, U32(bytes, offset));
        Assert.Equal(1u, U32(bytes, 384));
        Assert.Equal(4096ul, Small.RequestSlotsOffset);
        Assert.Equal(4096ul + 4 * 2048, Small.ReplySlotsOffset);
    }

    [Fact]
    public void Each_index_and_flag_has_a_cache_line_of_its_own()
    {
        int[] offsets = [RingLayout.RequestTailOffset, RingLayout.RequestHeadOffset, RingLayout.HostSleepingOffset,
            RingLayout.ReplyTailOffset, RingLayout.ReplyHeadOffset, RingLayout.GuestSleepingOffset, RingLayout.ReplyBellOffset];
        Assert.Equal(offsets.Length, offsets.Select(o => o / 64).Distinct().Count());
        Assert.All(offsets, o => Assert.True(o >= 64 && o < RingLayout.HeaderSize && o % 64 == 0));
    }

    [Fact]
    public void A_request_is_its_frame_in_the_next_slot_then_the_tail()
    {
        using var ring = SharedRing.Create(Small);
        byte[] frame = [16, 0, 0, 0, 0x11, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        Assert.True(ring.Requests.TryPut(frame));
        Assert.True(ring.Requests.TryPut(frame));

        var bytes = Contents(ring);
        Assert.Equal(frame, bytes[4096..4112]);
        Assert.Equal(frame, bytes[(4096 + 2048)..(4096 + 2048 + 16)]);
        Assert.Equal(2u, U32(bytes, RingLayout.RequestTailOffset));
    }

    [Fact]
    public void The_host_adopts_a_well_formed_ring_and_reads_what_the_guest_put()
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        Assert.Equal(Small, host.Shape);

        Assert.True(guest.Requests.TryPut([8, 0, 0, 0, 1, 2, 3, 4]));
        var copy = new byte[2048];
        Assert.Equal(TakeResult.Frame, host.Requests.TryTake(copy, out int length, out _));
        Assert.Equal(new byte[] { 8, 0, 0, 0, 1, 2, 3, 4 }, copy[..length]);
        Assert.Equal(TakeResult.Empty, host.Requests.TryTake(copy, out _, out _));
        Assert.Equal(1u, U32(Contents(guest), RingLayout.RequestHeadOffset));
    }

    [Fact]
    public void A_full_ring_takes_no_more_until_the_consumer_moves_on()
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        for (int i = 0; i < 2; i++) Assert.True(host.Replies.TryPut([4, 0, 0, 0]));
        Assert.False(host.Replies.TryPut([4, 0, 0, 0]));
        Assert.Equal(TakeResult.Frame, guest.Replies.TryTake(new byte[2048], out _, out _));
        Assert.True(host.Replies.TryPut([4, 0, 0, 0]));
        Assert.False(host.Replies.TryPut(new byte[2049])); // larger than a slot: not for the ring
    }

    [Theory]
    [InlineData(RingLayout.MagicOffset, 0x12345678u, "not a version 1 ring")]
    [InlineData(RingLayout.SlotSizeOffset, 3000u, "power of two")]
    [InlineData(RingLayout.SlotSizeOffset, 1024u, "power of two")]
    [InlineData(RingLayout.RequestSlotsOffset, 512u, "max-slots")]
    [InlineData(RingLayout.RequestSlotsOffset, 8u, "needs 24576 bytes but the memfd has 16384")]
    public void The_host_refuses_a_ring_whose_header_is_wrong(int offset, uint value, string why)
    {
        using var guest = SharedRing.Create(Small);
        var field = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        MemFd.WriteAt(guest.Memfd, (ulong)offset, field);

        var e = Assert.Throws<ErrnoException>(() => SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits()));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void The_host_refuses_a_ring_larger_than_its_limit_naming_the_key()
    {
        using var guest = SharedRing.Create(Small);
        var e = Assert.Throws<ErrnoException>(() => SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits { MaxBytes = 8192, BytesKey = "pvdrm.host.ring.max-bytes" }));
        Assert.Contains("pvdrm.host.ring.max-bytes", e.Message);
    }

    [Fact]
    public void The_host_refuses_a_descriptor_that_is_not_a_memfd()
    {
        var (a, b) = Native.Io.UnixSocket.Pair();
        b.Dispose();
        var e = Assert.Throws<ErrnoException>(() => SharedRing.Adopt(a, new RingLimits()));
        Assert.Equal(Errno.EINVAL, e.Errno);
    }
}
