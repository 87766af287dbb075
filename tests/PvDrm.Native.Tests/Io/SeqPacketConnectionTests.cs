using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Native.Memory;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Tests.Io;

public class SeqPacketConnectionTests
{
    private static (SeqPacketConnection A, SeqPacketConnection B, FrameCollector AtA, FrameCollector AtB) Pair(ConnectionOptions? options = null)
    {
        var (a, b) = UnixSocket.Pair();
        options ??= new ConnectionOptions();
        var (ca, cb) = (new SeqPacketConnection(a, options), new SeqPacketConnection(b, options));
        var (fa, fb) = (new FrameCollector(), new FrameCollector());
        ca.Start(fa);
        cb.Start(fb);
        return (ca, cb, fa, fb);
    }

    [Fact]
    public void Frames_keep_their_boundaries_and_order()
    {
        var (a, _, _, atB) = Pair();
        for (byte i = 1; i <= 50; i++) Assert.True(a.Send(Enumerable.Repeat(i, i).ToArray()));

        for (byte i = 1; i <= 50; i++) Assert.Equal(Enumerable.Repeat(i, i).ToArray(), atB.Next().Frame);
        a.Close("done");
    }

    [Fact]
    public void A_descriptor_travels_alone_with_its_frame_and_maps_the_same_pages()
    {
        var (a, _, _, atB) = Pair();
        using var memfd = MemFd.Create("shared", 4096);
        using (var map = Mapping.Map(memfd, 4096)) map.Slice(0, 4).Fill(0x5A);

        Assert.True(a.Send(new byte[] { 1, 2, 3 }, memfd));
        Assert.True(a.Send(new byte[] { 4 }));

        var (frame, fd) = atB.Next();
        Assert.Equal(new byte[] { 1, 2, 3 }, frame);
        Assert.NotNull(fd);
        using (fd)
        using (var peer = Mapping.Map(fd!, 4096))
            Assert.Equal(new byte[] { 0x5A, 0x5A, 0x5A, 0x5A }, peer.Slice(0, 4).ToArray());
        // The frame without a descriptor brings none (the control buffer is never read as extra fds).
        Assert.Null(atB.Next().Fd);
    }

    [Fact]
    public unsafe void Exactly_one_descriptor_is_sent_with_a_frame()
    {
        // Regression: Tmds.LibC's CMSG_LEN rounds up, which sent fd 0 as a second descriptor.
        var (a, b) = UnixSocket.Pair();
        using (a)
        using (b)
        using (var memfd = MemFd.Create("one", 4096))
        {
            Assert.Equal(0, UnixSocket.Send(a, new byte[] { 9 }, memfd));
            Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
            int n = UnixSocket.Receive(b, new byte[16], fds, out int count, out int flags);
            Assert.Equal(1, n);
            Assert.Equal(1, count);
            Assert.Equal(0, flags & (MSG_CTRUNC | MSG_TRUNC));
            close(fds[0]);
        }
        Assert.Equal(20, UnixSocket.CmsgLen(sizeof(int)));
    }

    [Fact]
    public async Task A_frame_larger_than_the_limit_ends_the_connection_with_a_reason()
    {
        var (a, b) = UnixSocket.Pair();
        var sender = new SeqPacketConnection(a, new ConnectionOptions { MaxFrame = 64 * 1024 });
        var receiver = new SeqPacketConnection(b, new ConnectionOptions { MaxFrame = 1024 });
        var atReceiver = new FrameCollector();
        sender.Start(new FrameCollector());
        receiver.Start(atReceiver);

        sender.Send(new byte[4096]);

        string reason = await atReceiver.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("larger than the maximum", reason);
    }

    [Fact]
    public async Task Closing_one_end_tells_the_other()
    {
        var (a, _, atA, atB) = Pair();
        a.Close("test is over");

        Assert.Equal("test is over", await atA.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("closed", await atB.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(a.Send(new byte[1]));
    }

    [Fact]
    public void A_paused_connection_reads_nothing_until_resumed()
    {
        var (a, b, _, atB) = Pair();
        b.PauseReceiving();
        a.Send(new byte[] { 1 });
        Assert.False(atB.TryNext(TimeSpan.FromMilliseconds(200), out _));

        b.ResumeReceiving();
        Assert.Equal(new byte[] { 1 }, atB.Next().Frame);
    }

    [Fact]
    public async Task A_peer_that_never_reads_is_disconnected_instead_of_growing_our_memory()
    {
        var (a, b) = UnixSocket.Pair();
        var sender = new SeqPacketConnection(a, new ConnectionOptions { MaxPendingSendBytes = 256 * 1024 });
        var atSender = new FrameCollector();
        sender.Start(atSender);
        // b is never read.
        var frame = new byte[16 * 1024];
        int sent = 0;
        while (sender.Send(frame) && sent < 10_000) sent++;

        Assert.Contains("not reading", await atSender.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        b.Dispose();
    }

    [Fact]
    public async Task Before_admission_a_peer_gets_room_for_one_small_frame_each_way()
    {
        var options = new ConnectionOptions { UnadmittedMaxFrame = 1024 };
        var (a, b) = UnixSocket.Pair();
        var ours = new SeqPacketConnection(a, options);
        var atOurs = new FrameCollector();
        ours.Start(atOurs);
        using var theirs = b;
        Assert.Equal(0, UnixSocket.Send(theirs, new byte[1000], null));
        Assert.Equal(1000, atOurs.Next().Frame.Length);
        // The peer does not read, and the kernel takes what we send: the queue is never used ...
        int sent = 0;
        while (ours.Send(new byte[900]) && sent < 100_000) sent++;
        // ... until it is full, when a peer not yet admitted is cut off at 1 KiB queued, not 16 MiB.
        var why = System.Text.RegularExpressions.Regex.Match(await atOurs.Closed.WaitAsync(TimeSpan.FromSeconds(10)), @"not reading: (\d+) bytes");
        Assert.True(why.Success);
        Assert.InRange(long.Parse(why.Groups[1].Value), 0, 1024);

        var (c, d) = UnixSocket.Pair();
        var rude = new SeqPacketConnection(c, options);
        var atRude = new FrameCollector();
        rude.Start(atRude);
        using var them = d;
        Assert.Equal(0, UnixSocket.Send(them, new byte[2000], null));
        Assert.Contains("1024 bytes allowed before the peer is admitted", await atRude.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_stale_socket_file_is_replaced_and_a_live_one_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pvdrm-test-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        File.WriteAllText(path, ""); // stale: nobody listens
        try
        {
            using var listener = new UnixListener(path, Convert.ToUInt32("600", 8), (fd, _) => fd.Dispose());
            var error = Assert.Throws<ErrnoException>(() => new UnixListener(path, Convert.ToUInt32("600", 8), (fd, _) => fd.Dispose()));
            Assert.Contains("another process is listening", error.Message);
            Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(path) & 0x1FF, 8));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
