using System.Buffers.Binary;
using PvDrm.Native.Io.Ring;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.Io.Ring;

/// <summary>
/// The sleeping-flag protocol, one step at a time in every order that matters: a consumer that
/// sleeps is always rung, one that is awake never is, and a producer rings once per sleep (not
/// once per frame).
/// </summary>
public class RingSleepTests
{
    private static readonly RingShape Small = new(SlotSize: 2048, RequestSlots: 4, ReplySlots: 4);
    private static readonly byte[] Frame = [8, 0, 0, 0, 1, 2, 3, 4];

    private static (SharedRing Guest, SharedRing Host) Pair()
    {
        var guest = SharedRing.Create(Small);
        return (guest, SharedRing.Adopt(guest.Memfd.Duplicate(), new RingLimits()));
    }

    private static uint Peek(SharedRing ring, int offset)
    {
        var field = new byte[4];
        MemFd.ReadAt(ring.Memfd, (ulong)offset, field);
        return BinaryPrimitives.ReadUInt32LittleEndian(field);
    }

    [Fact]
    public void A_frame_put_after_the_host_decided_to_sleep_rings_once_for_the_whole_burst()
    {
        var (guest, host) = Pair();
        using (guest)
        using (host)
        {
            Assert.True(host.Requests.PrepareToSleep());

            Assert.Equal(PutResult.Put, guest.Requests.Put(Frame, out _));
            Assert.True(guest.Requests.ConsumerNeedsWaking());
            Assert.Equal(PutResult.Put, guest.Requests.Put(Frame, out _));
            Assert.False(guest.Requests.ConsumerNeedsWaking());
            Assert.Equal(0u, Peek(host, RingLayout.HostSleepingOffset));
        }
    }

    [Fact]
    public void A_frame_put_before_the_host_looks_keeps_it_awake_and_rings_nothing()
    {
        var (guest, host) = Pair();
        using (guest)
        using (host)
        {
            Assert.Equal(PutResult.Put, guest.Requests.Put(Frame, out _));
            Assert.False(guest.Requests.ConsumerNeedsWaking()); // the flag was down when the frame went in

            Assert.False(host.Requests.PrepareToSleep());
            Assert.Equal(0u, Peek(host, RingLayout.HostSleepingOffset));
            Assert.Equal(TakeResult.Frame, host.Requests.TryTake(new byte[2048], out int length, out _));
            Assert.Equal(Frame.Length, length);
        }
    }

    [Fact]
    public void A_frame_put_between_raising_the_flag_and_looking_rings_and_is_taken_all_the_same()
    {
        var (guest, host) = Pair();
        using (guest)
        using (host)
        {
            // The first half of PrepareToSleep (the flag up), then the guest, then the second half (the look).
            var flag = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(flag, 1);
            MemFd.WriteAt(host.Memfd, RingLayout.HostSleepingOffset, flag);
            Assert.Equal(PutResult.Put, guest.Requests.Put(Frame, out _));
            Assert.True(guest.Requests.ConsumerNeedsWaking()); // a spare doorbell, never a lost one

            Assert.False(host.Requests.PrepareToSleep());
            Assert.Equal(TakeResult.Frame, host.Requests.TryTake(new byte[2048], out _, out _));
        }
    }

    [Fact]
    public void A_polling_host_is_never_rung()
    {
        var (guest, host) = Pair();
        using (guest)
        using (host)
        {
            Assert.True(host.Requests.PrepareToSleep());
            host.Requests.Awake();

            Assert.Equal(PutResult.Put, guest.Requests.Put(Frame, out _));
            Assert.False(guest.Requests.ConsumerNeedsWaking());
            Assert.True(host.Requests.HasWork);
        }
    }

    [Fact]
    public unsafe void A_reply_after_the_guest_read_the_bell_moves_the_bell_so_its_futex_wait_returns_at_once()
    {
        var (guest, host) = Pair();
        using (guest)
        using (host)
        {
            // The guest's reader: read the bell, raise the flag, find nothing; then the host replies before the wait.
            int seen = Volatile.Read(ref *guest.ReplyBell);
            Assert.True(guest.Replies.PrepareToSleep());
            Assert.Equal(PutResult.Put, host.Replies.Put(Frame, out _));
            host.WakeGuestIfSleeping();

            Assert.NotEqual(seen, Volatile.Read(ref *guest.ReplyBell));
            Futex.Wait(guest.ReplyBell, seen); // returns at once (EAGAIN): the value moved
            Assert.Equal(TakeResult.Frame, guest.Replies.TryTake(new byte[2048], out _, out _));
        }
    }
}
