using System.Buffers.Binary;
using PvDrm.Native.Io.Ring;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.Io.Ring;

/// <summary>What the consumer does with indexes and lengths a hostile producer writes.</summary>
public class RingQueueTests
{
    private static readonly RingShape Small = new(SlotSize: 2048, RequestSlots: 4, ReplySlots: 4);

    private static void Poke(SharedRing ring, ulong offset, uint value)
    {
        var field = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        MemFd.WriteAt(ring.Memfd, offset, field);
    }

    [Theory]
    [InlineData(5u)]          // more frames than slots
    [InlineData(0xFFFFFFFFu)] // behind the head
    public void A_tail_out_of_bounds_is_corruption(uint tail)
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        Poke(guest, RingLayout.RequestTailOffset, tail);

        Assert.Equal(TakeResult.Corrupt, host.Requests.TryTake(new byte[2048], out _, out string? why));
        Assert.Contains("more than the 4 slots", why);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(2049u)]
    [InlineData(0x7FFFFFFFu)]
    public void A_frame_length_outside_its_slot_is_corruption(uint length)
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        Poke(guest, Small.RequestSlotsOffset, length);
        Poke(guest, RingLayout.RequestTailOffset, 1);

        Assert.Equal(TakeResult.Corrupt, host.Requests.TryTake(new byte[4096], out _, out string? why));
        Assert.Contains($"frame of {length} bytes", why);
    }

    [Fact]
    public void The_copy_is_what_was_taken_whatever_the_producer_writes_afterwards()
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        Assert.True(guest.Requests.TryPut([8, 0, 0, 0, 1, 1, 1, 1]));
        var copy = new byte[2048];
        Assert.Equal(TakeResult.Frame, host.Requests.TryTake(copy, out int length, out _));

        Poke(guest, Small.RequestSlotsOffset, 2000); // rewrite the slot after it was taken
        Poke(guest, Small.RequestSlotsOffset + 4, 0xFFFFFFFF);
        Assert.Equal(new byte[] { 8, 0, 0, 0, 1, 1, 1, 1 }, copy[..length]);
    }

    [Fact]
    public void A_rewritten_head_does_not_move_the_consumer()
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());
        Assert.True(guest.Requests.TryPut([4, 0, 0, 0]));
        Poke(guest, RingLayout.RequestHeadOffset, 1000); // the guest writes the host's published head

        Assert.Equal(TakeResult.Frame, host.Requests.TryTake(new byte[2048], out _, out _));
        Assert.Equal(TakeResult.Empty, host.Requests.TryTake(new byte[2048], out _, out _));
    }

    [Fact]
    public void A_producer_rings_only_a_consumer_that_sleeps_and_only_once()
    {
        using var guest = SharedRing.Create(Small);
        using var host = SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits());

        Assert.True(guest.Requests.TryPut([4, 0, 0, 0]));
        Assert.False(guest.Requests.ConsumerNeedsWaking()); // the host is awake (polling)

        Assert.False(host.Requests.PrepareToSleep()); // a frame waits: do not sleep
        Assert.Equal(TakeResult.Frame, host.Requests.TryTake(new byte[2048], out _, out _));
        Assert.True(host.Requests.PrepareToSleep());

        Assert.True(guest.Requests.TryPut([4, 0, 0, 0]));
        Assert.True(guest.Requests.ConsumerNeedsWaking());
        Assert.True(guest.Requests.TryPut([4, 0, 0, 0]));
        Assert.False(guest.Requests.ConsumerNeedsWaking()); // already rung: no syscall per message
    }
}
