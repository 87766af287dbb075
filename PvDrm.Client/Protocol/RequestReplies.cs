using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>Answering a request: each of these claims the request's reply address exactly once.</summary>
internal static class RequestReplies
{
    public static void Reply(this Request request, GpuFence? work = null) =>
        request.TakeReplyTo()?.Complete(request, 0, default, null, null, work);

    public static void Reply<T>(this Request request, in T payload, FileDescriptor? fd = null, GpuFence? work = null)
        where T : IReplyPayload<T>
    {
        var sink = request.TakeReplyTo();
        if (sink == null) return;
        Span<byte> buffer = stackalloc byte[payload.Size];
        var writer = new WireWriter(buffer);
        payload.Write(ref writer);
        sink.Complete(request, 0, buffer, null, fd, work);
    }

    public static void ReplyBytes(this Request request, ReadOnlySpan<byte> payload) =>
        request.TakeReplyTo()?.Complete(request, 0, payload, null, null, null);

    /// <summary>Answers with a positive <paramref name="errno"/> (sent negated) and a message a person can act on.</summary>
    public static void Fail(this Request request, int errno, string message, GpuFence? work = null) =>
        request.TakeReplyTo()?.Complete(request, -Math.Abs(errno), default, message, null, work);

    public static void Fail(this Request request, ErrnoException error) => request.Fail(error.Errno, error.Message);
}
