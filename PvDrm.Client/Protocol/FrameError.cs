namespace PvDrm.Protocol;

/// <summary>
/// Why a frame was refused. <see cref="Fatal"/>: the stream itself is broken (bad length,
/// garbage header) and the connection ends. Otherwise the request gets a reply with
/// <see cref="Errno"/> and <see cref="Message"/> and the connection carries on.
/// </summary>
public readonly record struct FrameError(bool Fatal, FrameHeader Header, int Errno, string Message);
