using PvDrm.Native.Interop;

namespace PvDrm.Native.Io;

/// <summary>
/// A framed, bidirectional link to one peer. Frames arrive on the event loop's thread through
/// an <see cref="IFrameHandler"/>; <see cref="Send"/> may be called from any thread and never
/// blocks. Every frame starts with its total length as a little-endian u32.
/// </summary>
public abstract class Connection
{
    /// <summary>"unix", "tcp" or "vsock": shown in status output.</summary>
    public abstract string Transport { get; }

    /// <summary>True when file descriptors travel with frames (Unix sockets only).</summary>
    public abstract bool CanPassFds { get; }

    /// <summary>The largest frame this connection sends or accepts.</summary>
    public abstract int MaxFrame { get; }

    /// <summary>The peer's credentials, for Unix peers.</summary>
    public abstract PeerCredentials? Peer { get; }

    /// <summary>Who the peer is, for status and logs: its credentials, or its address on a stream.</summary>
    public virtual string PeerName => Peer?.ToString() ?? Transport;

    public abstract bool IsOpen { get; }

    /// <summary>
    /// Counts the batches of frames read (one per wake-up of the reader), so a handler can tell a
    /// peer that sends one request at a time (a new batch per frame) from one that floods.
    /// Read it only on the thread that delivers frames.
    /// </summary>
    public abstract long ReadBatch { get; }

    /// <summary>Starts delivering frames to <paramref name="handler"/>.</summary>
    public abstract void Start(IFrameHandler handler);

    /// <summary>
    /// Queues a frame (and a descriptor to pass with it) for sending. The caller keeps ownership
    /// of <paramref name="fd"/>. Returns false when the connection is closed.
    /// </summary>
    public abstract bool Send(ReadOnlySpan<byte> frame, FileDescriptor? fd = null);

    /// <summary>
    /// Queues several frames at once: <paramref name="frames"/> holds them back to back, each
    /// starting with its length. A transport that can (the shared-memory ring) publishes them all
    /// before waking the peer once; the others send them one by one. False when the connection is
    /// closed (frames before the failing one may have gone).
    /// </summary>
    public virtual bool SendFrames(ReadOnlySpan<byte> frames)
    {
        while (frames.Length > 0)
        {
            int length = FrameLength(frames);
            if (!Send(frames[..length])) return false;
            frames = frames[length..];
        }
        return true;
    }

    /// <summary>The length of the first frame of <paramref name="frames"/> (its u32 prefix), checked against what is there.</summary>
    protected static int FrameLength(ReadOnlySpan<byte> frames)
    {
        uint length = frames.Length >= sizeof(uint) ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(frames) : 0;
        if (length < sizeof(uint) || length > (uint)frames.Length)
            throw new ArgumentException($"a frame of {length} bytes does not fit the {frames.Length} bytes left", nameof(frames));
        return (int)length;
    }

    /// <summary>
    /// The peer is admitted: lifts the limits of <see cref="ConnectionOptions.UnadmittedMaxFrame"/>
    /// to <see cref="MaxFrame"/> and the full send queue. Call before sending the answer that admits it.
    /// </summary>
    public abstract void Admitted();

    /// <summary>Stops reading frames: back-pressure, the peer's further frames wait in the kernel.</summary>
    public abstract void PauseReceiving();

    /// <summary>Reads again after <see cref="PauseReceiving"/>.</summary>
    public abstract void ResumeReceiving();

    /// <summary>Closes the connection; the handler's <see cref="IFrameHandler.OnClosed"/> follows once.</summary>
    public abstract void Close(string reason);
}
