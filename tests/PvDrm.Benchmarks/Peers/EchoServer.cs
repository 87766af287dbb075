using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Benchmarks.Peers;

/// <summary>
/// `pvdrm-bench --echo-server PATH`: the raw baseline's server, built from the same parts as the
/// host's I/O (PvDrm.Native's EventLoop, UnixListener and SeqPacketConnection), answering every
/// GET_PARAM-sized frame on the loop thread with a reply-sized frame. No actors, no decoding.
/// A second socket, PATH.hop, answers from a thread-pool thread instead (one hand-off per
/// request, as the host's I/O loop hands each request to an actor): a diagnostic that shows what
/// that one thread hop costs.
/// </summary>
public static class EchoServer
{
    public static async Task<int> RunAsync(string path, CancellationToken ct)
    {
        var options = new ConnectionOptions();
        using var listener = new UnixListener(path, 384 /* 0600 */, (fd, peer) =>
        {
            var connection = new SeqPacketConnection(fd, options, peer: peer);
            connection.Start(new Handler(connection, hop: false));
        });
        using var hopListener = new UnixListener(HopPath(path), 384 /* 0600 */, (fd, peer) =>
        {
            var connection = new SeqPacketConnection(fd, options, peer: peer);
            connection.Start(new Handler(connection, hop: true));
        });
        Console.WriteLine("ready");
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
        }
        return 0;
    }

    public static string HopPath(string path) => path + ".hop";

    private sealed class Handler(Connection connection, bool hop) : IFrameHandler
    {
        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            if (frame.Length < EchoFrames.RequestSize) return;
            if (!hop)
            {
                Span<byte> reply = stackalloc byte[EchoFrames.ReplySize];
                EchoFrames.WriteReply(frame, reply, 2);
                connection.Send(reply);
                return;
            }
            var request = frame[..EchoFrames.RequestSize].ToArray();
            ThreadPool.UnsafeQueueUserWorkItem(r =>
            {
                Span<byte> reply = stackalloc byte[EchoFrames.ReplySize];
                EchoFrames.WriteReply(r, reply, 2);
                connection.Send(reply);
            }, request, preferLocal: false);
        }

        public void OnClosed(string reason)
        {
        }
    }
}
