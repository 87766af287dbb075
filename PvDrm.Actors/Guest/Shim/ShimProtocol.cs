using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>The conversation of the shim actors: connections, frames, and answers to the requests they made.</summary>
internal static class ShimProtocol
{
    /// <summary>A program opened the render node: its shim connected.</summary>
    public sealed record Connected(Connection Connection);

    /// <summary>A frame from the shim, copied out of the loop's buffer; the descriptor (PRIME import) is owned by the message.</summary>
    public sealed record Frame(byte[] Bytes, FileDescriptor? Fd);

    /// <summary>The shim's connection is gone (the program closed its last descriptor of the file, or exited).</summary>
    public sealed record Closed(string Reason);

    /// <summary>The answer to a protocol request a DRM file made: status, payload, message, and a descriptor it now owns.</summary>
    public sealed record Answer(int Status, byte[] Payload, string? Message, FileDescriptor? Fd)
    {
        public T Read<T>() where T : IReplyPayload<T>
        {
            var reader = new WireReader(Payload);
            return T.Read(ref reader);
        }
    }
}

/// <summary>What translating one shim call produced: an answer now, or a protocol request to make first.</summary>
internal abstract record ShimStep;

/// <summary>Answered without the host (a refusal, or something the file already knows).</summary>
internal sealed record Answered(ShimReply Reply) : ShimStep;

/// <summary>
/// Needs <paramref name="Request"/> answered first: by the host directly (<paramref name="ToHost"/>,
/// device queries) or by the file's <see cref="AppContext"/> (everything inside the context).
/// </summary>
internal sealed record Ask(Request Request, bool ToHost, Func<ShimProtocol.Answer, ShimReply> Then) : ShimStep;

/// <summary>Passes answers from the file's <see cref="AppContext"/> back to the file's actor.</summary>
internal sealed class ShimReplySink(IActorRef file) : IReplySink
{
    public void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, Native.Gpu.GpuFence? work)
    {
        // The caller keeps its descriptor; the file gets its own copy.
        FileDescriptor? copy;
        try
        {
            copy = fd?.Duplicate();
        }
        catch (ErrnoException e)
        {
            file.Tell(new ShimProtocol.Answer(-e.Errno, [], $"the proxy could not keep the buffer's descriptor: {e.Message}", null));
            return;
        }
        file.Tell(new ShimProtocol.Answer(status, payload.ToArray(), message, copy));
    }
}

/// <summary>Adapts a shim connection's frames (on the event loop's thread) to messages for its file actor.</summary>
internal sealed class ShimFrameHandler(IActorRef file) : IFrameHandler
{
    public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd) => file.Tell(new ShimProtocol.Frame(frame.ToArray(), fd));

    public void OnClosed(string reason) => file.Tell(new ShimProtocol.Closed(reason));
}
