using System.Collections.Concurrent;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Native.Tests.Io;

/// <summary>An <see cref="IFrameHandler"/> that records what arrives, for tests to await.</summary>
internal sealed class FrameCollector : IFrameHandler
{
    private readonly BlockingCollection<(byte[] Frame, FileDescriptor? Fd)> _frames = new();
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<string> Closed => _closed.Task;

    public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd) => _frames.Add((frame.ToArray(), fd));

    public void OnClosed(string reason) => _closed.TrySetResult(reason);

    public (byte[] Frame, FileDescriptor? Fd) Next()
    {
        Assert.True(_frames.TryTake(out var item, TimeSpan.FromSeconds(10)), "no frame arrived");
        return item;
    }

    public bool TryNext(TimeSpan wait, out (byte[] Frame, FileDescriptor? Fd) item) => _frames.TryTake(out item, wait);
}
