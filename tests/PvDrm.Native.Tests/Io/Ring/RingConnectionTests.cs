using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Io.Ring;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.Io.Ring;

/// <summary>Both ends of a ring connection over a socket pair, attached the way RING_ATTACH does it.</summary>
public class RingConnectionTests
{
    private static readonly RingShape Small = new(SlotSize: 2048, RequestSlots: 4, ReplySlots: 4);

    private sealed record Ends(RingServerConnection Host, RingClientConnection Guest, FrameCollector AtHost, FrameCollector AtGuest);

    private static async Task<Ends> AttachedAsync(TimeSpan poll = default)
    {
        var (a, b) = UnixSocket.Pair();
        var host = new RingServerConnection(new SeqPacketConnection(a, new ConnectionOptions()));
        var guest = new RingClientConnection(new SeqPacketConnection(b, new ConnectionOptions()), Small, poll);
        var (atHost, atGuest) = (new FrameCollector(), new FrameCollector());
        host.Start(atHost);
        guest.Start(atGuest);

        // The offer: the memfd over the socket. The host adopts it on its loop and answers with its doorbell.
        Assert.True(guest.Send([4, 0, 0, 0], guest.Memfd));
        var (_, memfd) = atHost.Next();
        var attached = new TaskCompletionSource<FileDescriptor>(TaskCreationOptions.RunContinuationsAsynchronously);
        ((SeqPacketConnection)typeof(RingConnection).GetProperty("Socket", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(host)!).Loop.Post(() => attached.SetResult(host.Attach(memfd!, new RingLimits())));
        using (var doorbell = await attached.Task.WaitAsync(TimeSpan.FromSeconds(10)))
            Assert.True(host.Send([4, 0, 0, 0], doorbell));
        var (_, bell) = atGuest.Next();
        guest.Attach(bell!);
        Assert.True(host.RingAttached && guest.RingAttached);
        return new Ends(host, guest, atHost, atGuest);
    }

    private static byte[] Frame(int length, byte fill)
    {
        var frame = Enumerable.Repeat(fill, length).ToArray();
        BitConverter.TryWriteBytes(frame, length);
        return frame;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(200)]
    public async Task Frames_cross_both_rings_in_order_more_than_the_slots_hold(int pollMicroseconds)
    {
        var ends = await AttachedAsync(TimeSpan.FromMicroseconds(pollMicroseconds));
        for (byte i = 1; i <= 40; i++)
        {
            Assert.True(ends.Guest.Send(Frame(16 + i, i)));
            Assert.Equal(Frame(16 + i, i), ends.AtHost.Next().Frame);
            Assert.True(ends.Host.Send(Frame(24 + i, i)));
            Assert.Equal(Frame(24 + i, i), ends.AtGuest.Next().Frame);
        }
        ends.Guest.Close("done");
        await ends.AtHost.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await ends.AtGuest.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_burst_larger_than_the_ring_waits_for_room_and_keeps_its_order()
    {
        var ends = await AttachedAsync();
        var sending = Task.Run(() => { for (int i = 0; i < 100; i++) Assert.True(ends.Guest.Send(Frame(16, (byte)i))); });
        for (int i = 0; i < 100; i++) Assert.Equal(Frame(16, (byte)i), ends.AtHost.Next().Frame);
        await sending.WaitAsync(TimeSpan.FromSeconds(10));
        ends.Host.Close("done");
    }

    [Fact]
    public async Task A_frame_with_a_descriptor_or_too_large_for_a_slot_goes_over_the_socket()
    {
        var ends = await AttachedAsync();
        using var memfd = MemFd.Create("passed", 4096);
        Assert.True(ends.Host.Send(Frame(32, 7), memfd));
        Assert.True(ends.Host.Send(Frame(5000, 8)));
        var (frame, fd) = ends.AtGuest.Next();
        Assert.Equal(Frame(32, 7), frame);
        Assert.NotNull(fd);
        fd!.Dispose();
        Assert.Equal(Frame(5000, 8), ends.AtGuest.Next().Frame);
        ends.Host.Close("done");
    }

    [Fact]
    public async Task A_corrupt_request_ring_ends_the_connection_with_the_reason()
    {
        var ends = await AttachedAsync();
        var tail = new byte[4];
        BitConverter.TryWriteBytes(tail, 1000u);
        MemFd.WriteAt(ends.Guest.Memfd ?? GuestMemfd(ends.Guest), RingLayout.RequestTailOffset, tail);
        // Any wake of the host's loop (here a frame on the socket) looks at its rings before sleeping again.
        Assert.True(ends.Guest.Send(Frame(5000, 1)));

        string reason = await ends.AtHost.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("ring protocol error", reason);
        await ends.AtGuest.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static FileDescriptor GuestMemfd(RingClientConnection guest) =>
        ((SharedRing)typeof(RingConnection).GetProperty("Ring", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(guest)!).Memfd;
}
