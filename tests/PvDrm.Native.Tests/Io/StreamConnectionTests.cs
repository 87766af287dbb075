using System.Buffers.Binary;
using System.Net;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Native.Tests.Io;

public class StreamConnectionTests
{
    /// <summary>A TCP connection pair on loopback: ours as a StreamConnection, the peer's raw socket.</summary>
    private static (StreamConnection Ours, FileDescriptor Theirs, FrameCollector Frames) Pair(int maxFrame = 64 * 1024, int? unadmitted = null)
    {
        var accepted = new TaskCompletionSource<FileDescriptor>();
        using var listener = StreamListener.Tcp(new IPEndPoint(IPAddress.Loopback, 0), (fd, _) => accepted.TrySetResult(fd));
        var theirs = StreamSocket.ConnectTcp(Endpoints.ParseListen(listener.Address).Tcp!, TimeSpan.FromSeconds(10));
        var ours = new StreamConnection(accepted.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult(), "tcp", new ConnectionOptions { MaxFrame = maxFrame, UnadmittedMaxFrame = unadmitted });
        var frames = new FrameCollector();
        ours.Start(frames);
        return (ours, theirs, frames);
    }

    private static byte[] Frame(int length, byte fill)
    {
        var frame = new byte[length];
        frame.AsSpan(4).Fill(fill);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)length);
        return frame;
    }

    private static void SendAll(FileDescriptor socket, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int n = StreamSocket.Send(socket, data);
            Assert.True(n >= 0 || n == -Tmds.Linux.LibC.EAGAIN, $"send failed: errno {-n}");
            if (n > 0) data = data[n..];
            else WaitReady(socket, Tmds.Linux.LibC.POLLOUT);
        }
    }

    /// <summary>Sleeps in poll(2) until the socket is ready; a peer that never makes it ready fails the test instead of hanging it.</summary>
    private static unsafe void WaitReady(FileDescriptor socket, short events)
    {
        var ready = new Tmds.Linux.pollfd { fd = socket.Number, events = events };
        Assert.True(Tmds.Linux.LibC.poll(&ready, 1, 30_000) == 1, "the socket did not become ready in 30 s");
    }

    [Fact]
    public void A_frame_sent_in_pieces_arrives_whole_and_frames_sent_together_arrive_apart()
    {
        var (ours, theirs, frames) = Pair();
        using (theirs)
        {
            var big = Frame(10_000, 7);
            SendAll(theirs, big.AsSpan(0, 3));
            SendAll(theirs, big.AsSpan(3, 5000));
            SendAll(theirs, big.AsSpan(5003));
            SendAll(theirs, Frame(16, 1).Concat(Frame(20, 2)).Concat(Frame(17, 3)).ToArray());

            Assert.Equal(big, frames.Next().Frame);
            Assert.Equal(new[] { 16, 20, 17 }, new[] { frames.Next().Frame.Length, frames.Next().Frame.Length, frames.Next().Frame.Length });
        }
        ours.Close("done");
    }

    [Theory]
    [InlineData(8, "shorter than the 16-byte header")]
    [InlineData(1 << 30, "larger than the maximum")]
    public async Task A_length_field_out_of_bounds_ends_the_connection_before_anything_is_allocated(int length, string reason)
    {
        var (_, theirs, frames) = Pair();
        using (theirs)
        {
            var header = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)length);
            SendAll(theirs, header);
            Assert.Contains(reason, await frames.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Fact]
    public async Task Before_admission_only_small_frames_are_read_and_after_it_full_ones()
    {
        var (ours, theirs, frames) = Pair(unadmitted: 1024);
        using (theirs)
        {
            SendAll(theirs, Frame(1000, 1));
            Assert.Equal(1000, frames.Next().Frame.Length);
            ours.Admitted();
            var big = Frame(60_000, 2);
            SendAll(theirs, big);
            Assert.Equal(big, frames.Next().Frame);
        }
        ours.Close("done");

        var (_, rude, refused) = Pair(unadmitted: 1024);
        using (rude)
        {
            SendAll(rude, Frame(2000, 3));
            Assert.Contains("1024 bytes allowed before the peer is admitted", await refused.Closed.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }

    [Fact]
    public void Large_frames_to_a_slow_reader_are_queued_and_all_arrive_in_order()
    {
        var (ours, theirs, _) = Pair(maxFrame: 1 << 20);
        using (theirs)
        {
            var sent = Enumerable.Range(0, 20).Select(i => Frame(512 * 1024, (byte)i)).ToList();
            foreach (var f in sent) Assert.True(ours.Send(f));
            var received = new List<byte>();
            var buffer = new byte[1 << 16];
            while (received.Count < sent.Sum(f => f.Length))
            {
                int n = StreamSocket.Receive(theirs, buffer);
                Assert.True(n != 0, "the stream ended before every frame arrived");
                if (n > 0) received.AddRange(buffer.AsSpan(0, n).ToArray());
                else WaitReady(theirs, Tmds.Linux.LibC.POLLIN);
            }
            Assert.Equal(sent.SelectMany(f => f), received);
        }
        ours.Close("done");
    }

    [Fact]
    public async Task A_paused_stream_delivers_nothing_more_even_from_frames_it_has_read_and_resumes_in_order()
    {
        var accepted = new TaskCompletionSource<FileDescriptor>();
        using var listener = StreamListener.Tcp(new IPEndPoint(IPAddress.Loopback, 0), (fd, _) => accepted.TrySetResult(fd));
        using var theirs = StreamSocket.ConnectTcp(Endpoints.ParseListen(listener.Address).Tcp!, TimeSpan.FromSeconds(10));
        var ours = new StreamConnection(await accepted.Task.WaitAsync(TimeSpan.FromSeconds(10)), "tcp", new ConnectionOptions());
        var frames = new PausingCollector(ours, pauseAfter: 2);
        ours.Start(frames);

        // Ten frames in one write: the connection reads them together but may hand over only two.
        SendAll(theirs, Enumerable.Range(1, 10).SelectMany(i => Frame(16 + i, (byte)i)).ToArray());
        Assert.True(frames.Paused.Wait(TimeSpan.FromSeconds(10)));
        Assert.False(frames.Inner.TryNext(TimeSpan.FromMilliseconds(200), out _), "a frame was delivered while paused");

        ours.ResumeReceiving();
        var lengths = new List<int>();
        while (lengths.Count < 8 && frames.Inner.TryNext(TimeSpan.FromSeconds(10), out var f)) lengths.Add(f.Frame.Length);
        Assert.Equal(Enumerable.Range(3, 8).Select(i => 16 + i), lengths);
        ours.Close("done");
    }

    /// <summary>Pauses its connection after the first few frames, as a link at its in-flight limit does.</summary>
    private sealed class PausingCollector(Connection connection, int pauseAfter) : IFrameHandler
    {
        private int _seen;

        public FrameCollector Inner { get; } = new();

        public ManualResetEventSlim Paused { get; } = new();

        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            if (++_seen < pauseAfter) return;
            if (_seen == pauseAfter)
            {
                connection.PauseReceiving(); // the first ones are taken in; then, like a link at its limit, stop
                Paused.Set();
                return;
            }
            Inner.OnFrame(frame, fd);
        }

        public void OnClosed(string reason) => Inner.OnClosed(reason);
    }

    [Theory]
    [InlineData("tcp:127.0.0.1", "not an IP address and port")]
    [InlineData("vsock:x:1", "not a vsock CID and port")]
    [InlineData("http://example", "not an endpoint")]
    public void A_malformed_endpoint_says_what_is_expected(string endpoint, string says)
    {
        var error = Assert.Throws<FormatException>(() => Endpoints.Validate(endpoint));
        Assert.Contains(says, error.Message);
        Assert.Contains("unix:PATH, tcp:HOST:PORT or vsock:CID:PORT", error.Message);
    }
}
