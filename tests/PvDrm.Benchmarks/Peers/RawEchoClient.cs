using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Benchmarks.Peers;

/// <summary>
/// The raw baseline's client: the same SeqPacketConnection on the same process-wide EventLoop
/// as DrmClient, and the same waiting strategy: a TaskCompletionSource per request (continuations
/// run asynchronously), registered under a request id in a locked dictionary and completed by
/// the loop thread when the reply comes, with the reply copied out of the receive buffer.
/// What it leaves out is the protocol: no request records, no encoder, no reply parsing.
/// </summary>
public sealed class RawEchoClient : IFrameHandler, IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, TaskCompletionSource<byte[]>> _pending = new();
    private readonly SeqPacketConnection _connection;
    private uint _nextId;

    private RawEchoClient(SeqPacketConnection connection)
    {
        _connection = connection;
    }

    public static RawEchoClient Connect(string path)
    {
        var client = new RawEchoClient(SeqPacketConnection.Connect(path, new ConnectionOptions()));
        client._connection.Start(client);
        return client;
    }

    public Task<byte[]> RoundTripAsync(ulong param = 13)
    {
        var tcs = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        uint id;
        lock (_lock)
        {
            id = ++_nextId;
            _pending[id] = tcs;
        }
        Span<byte> frame = stackalloc byte[EchoFrames.RequestSize];
        EchoFrames.WriteRequest(frame, id, param);
        if (!_connection.Send(frame))
        {
            lock (_lock) _pending.Remove(id);
            tcs.TrySetException(new InvalidOperationException("echo connection closed"));
        }
        return tcs.Task;
    }

    void IFrameHandler.OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
    {
        fd?.Dispose();
        if (frame.Length < EchoFrames.ReplySize) return;
        TaskCompletionSource<byte[]>? tcs;
        lock (_lock) _pending.Remove(EchoFrames.RequestId(frame), out tcs);
        tcs?.TrySetResult(frame.ToArray());
    }

    void IFrameHandler.OnClosed(string reason)
    {
        List<TaskCompletionSource<byte[]>> pending;
        lock (_lock)
        {
            pending = _pending.Values.ToList();
            _pending.Clear();
        }
        foreach (var tcs in pending) tcs.TrySetException(new InvalidOperationException($"echo connection closed: {reason}"));
    }

    public ValueTask DisposeAsync()
    {
        _connection.Close("benchmark done");
        return ValueTask.CompletedTask;
    }
}
