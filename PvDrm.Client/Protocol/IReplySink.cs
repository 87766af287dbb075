using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>
/// Where a request's answer goes: the guest's connection, possibly through the sequential gate.
/// Called exactly once per request, from whichever actor finishes it, so replies reach the
/// socket without another actor hop.
/// </summary>
public interface IReplySink
{
    /// <summary>Answers <paramref name="request"/>.</summary>
    /// <param name="request">The request answered.</param>
    /// <param name="status">0 or a negative errno.</param>
    /// <param name="payload">The reply payload (ignored on failure).</param>
    /// <param name="message">The message for a failure, naming the limit or cause.</param>
    /// <param name="fd">A descriptor to pass with the reply (GEM_MAP); the caller keeps ownership.</param>
    /// <param name="work">GPU work the request started, when it completes only later (PUSHBUF).</param>
    void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, GpuFence? work);
}
