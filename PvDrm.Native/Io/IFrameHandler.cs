using PvDrm.Native.Interop;

namespace PvDrm.Native.Io;

/// <summary>What a <see cref="Connection"/> delivers to, on its event loop's thread.</summary>
public interface IFrameHandler
{
    /// <summary>
    /// One received frame. <paramref name="frame"/> is only valid during the call (it lives in the
    /// loop's shared receive buffer): copy what you keep. The handler owns <paramref name="fd"/>
    /// and must dispose it when it does not pass it on.
    /// </summary>
    void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd);

    /// <summary>Called once when the connection is gone, with the reason.</summary>
    void OnClosed(string reason);
}
