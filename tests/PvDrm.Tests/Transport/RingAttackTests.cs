using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io.Ring;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Transport;

/// <summary>
/// A guest that breaks its shared-memory ring (PROTOCOL.md, Shared-memory ring, the host's rules)
/// loses its own connection, as with a broken stream: the host releases what it held, and a guest
/// beside it keeps working on its own ring.
/// </summary>
public class RingAttackTests : TestKit
{
    private const ulong Size = 64 * 1024;

    /// <summary>An offender with a context and a buffer on the host, and a bystander DrmClient on a ring.</summary>
    private async Task<(HostHarness Host, RingGuest Offender, PvDrm.Client.DrmClient Bystander)> SetUpAsync()
    {
        var host = new HostHarness(this);
        var bystander = await host.ConnectAsync("bystander");
        Assert.True(bystander.OnRing);
        var offender = RingGuest.Attached(host, "offender");
        offender.Put(new OpenContext(0) { Context = 1 });
        Assert.Equal(0, offender.TakeReply().Status);
        offender.Put(new GemNew(1, GemDomain.Vram, Size, 0) { Context = 1 });
        Assert.Equal(0, offender.TakeReply().Status);
        host.AwaitDevice(buffers: 1, extra: 0);
        return (host, offender, bystander);
    }

    /// <summary>The offender's connection ended, its buffer and ring released; the bystander still works on its ring.</summary>
    private async Task AssertOnlyTheOffenderWentAsync(HostHarness host, RingGuest offender, PvDrm.Client.DrmClient bystander)
    {
        Assert.True(offender.HostClosed(), "the host kept the offender's connection");
        AwaitReleased(host, offender);

        await using var context = await bystander.OpenContextAsync();
        var gem = await context.GemNewAsync(Size);
        Assert.Equal(Size, (await gem.InfoAsync()).Size);
        Assert.True(bystander.OnRing && bystander.IsConnected);
    }

    /// <summary>The offender gone: its buffer freed, and no mapping of its ring left in this process (the host's included).</summary>
    private void AwaitReleased(HostHarness host, RingGuest offender)
    {
        ulong inode = Native.Memory.MemFd.Identity(offender.Ring.Memfd).Inode;
        offender.Dispose();
        host.AwaitDevice(buffers: 0, extra: 0);
        AwaitAssert(() => Assert.Equal(0, File.ReadLines("/proc/self/maps").Count(line =>
            line.Contains("/memfd:pvdrm-ring") && line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4] == inode.ToString())),
            HostHarness.Timeout, HostHarness.Poll);
    }

    [Theory]
    [InlineData(9u)]          // more requests than the 8 slots
    [InlineData(0xFFFFFFFFu)] // behind the host's head
    public async Task A_guest_that_corrupts_the_request_tail_breaks_only_its_own_connection(uint ahead)
    {
        var (host, offender, bystander) = await SetUpAsync();

        offender.Poke(RingLayout.RequestTailOffset, unchecked(2 + ahead)); // the host took 2 requests so far
        offender.RingDoorbell();

        await AssertOnlyTheOffenderWentAsync(host, offender, bystander);
    }

    [Fact]
    public async Task A_guest_that_corrupts_the_reply_head_breaks_only_its_own_connection()
    {
        var (host, offender, bystander) = await SetUpAsync();

        offender.Poke(RingLayout.ReplyHeadOffset, 1000); // claims to have taken replies the host never wrote
        offender.Put(new GemInfo(1) { Context = 1 });

        await AssertOnlyTheOffenderWentAsync(host, offender, bystander);
    }

    [Fact]
    public async Task A_guest_that_writes_a_frame_past_its_slot_breaks_only_its_own_connection()
    {
        var (host, offender, bystander) = await SetUpAsync();

        // The frame in the last request slot claims more bytes than its slot: read in place, they
        // would run past the end of the ring.
        var shape = offender.Ring.Shape;
        uint next = 2; // two requests so far
        for (; next % (uint)shape.RequestSlots != (uint)shape.RequestSlots - 1; next++)
        {
            offender.Put(new GetParam(1));
            offender.TakeReply();
        }
        offender.Poke(shape.RequestSlotsOffset + (ulong)(shape.RequestSlots - 1) * (ulong)shape.SlotSize, (uint)shape.SlotSize * 4);
        offender.Poke(RingLayout.RequestTailOffset, next + 1);
        offender.RingDoorbell();

        await AssertOnlyTheOffenderWentAsync(host, offender, bystander);
    }

    [Fact]
    public async Task A_guest_that_rewrites_requests_after_ringing_breaks_only_its_own_connection()
    {
        var (host, offender, bystander) = await SetUpAsync();
        var shape = offender.Ring.Shape;
        using var flipping = new CancellationTokenSource();
        // While the host takes them, each slot's length and op flip between a valid GEM_INFO and garbage.
        var flipper = Task.Run(() =>
        {
            var random = new Random(17);
            while (!flipping.IsCancellationRequested)
            {
                ulong slot = shape.RequestSlotsOffset + (ulong)random.Next(shape.RequestSlots) * (ulong)shape.SlotSize;
                offender.Poke(slot, random.Next(2) == 0 ? 24u : (uint)random.Next());
                offender.Poke(slot + 4, random.Next(2) == 0 ? (uint)Op.GemInfo : (uint)random.Next());
            }
        });
        try
        {
            // Until the ring stays full (the host stopped taking: it ended the connection), or enough went through.
            var buffer = new byte[shape.SlotSize];
            for (int i = 0; i < 2000 && offender.Ring.Requests.TryPut(Frame(new GemInfo(1) { Context = 1 }, (uint)(100 + i))); i++)
            {
                offender.RingDoorbell();
                // Every reply the host wrote is well formed, whatever it was answering.
                while (offender.Ring.Replies.TryTake(buffer, out int length, out _) == TakeResult.Frame)
                    Assert.NotNull(ReplyFrame.Parse(buffer.AsSpan(0, length), null, out _));
            }
        }
        finally
        {
            flipping.Cancel();
            await flipper;
        }
        // If the host is still taking frames, a bad tail ends it now; either way only the offender goes.
        offender.Poke(RingLayout.RequestTailOffset, 0xDEAD);
        offender.RingDoorbell();
        await AssertOnlyTheOffenderWentAsync(host, offender, bystander);
    }

    private static byte[] Frame(Request request, uint id)
    {
        var frame = new byte[FrameEncoder.RequestSize(request)];
        FrameEncoder.WriteRequest(request, frame, id, FrameFlags.None);
        return frame;
    }

    [Fact]
    public async Task A_guest_that_dies_mid_write_leaves_nothing_behind()
    {
        var (host, offender, bystander) = await SetUpAsync();
        // Half a GEM_NEW in the next slot, the tail published, then the process is gone.
        var frame = Frame(new GemNew(2, GemDomain.Vram, Size, 0) { Context = 1 }, 77);
        var shape = offender.Ring.Shape;
        Native.Memory.MemFd.WriteAt(offender.Ring.Memfd, shape.RequestSlotsOffset + 2 * (ulong)shape.SlotSize, frame.AsSpan(0, 20));
        offender.Poke(RingLayout.RequestTailOffset, 3);
        AwaitReleased(host, offender);
        AwaitAssert(() => Assert.DoesNotContain(host.Status().Guests, g => g.Name == "offender"), HostHarness.Timeout, HostHarness.Poll);
        Assert.DoesNotContain(host.Status().Guests, g => g.Name == "offender");
        await using var context = await bystander.OpenContextAsync();
        Assert.Equal(Size, (await (await context.GemNewAsync(Size)).InfoAsync()).Size);
    }
}
