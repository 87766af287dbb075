using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// A ring's memory: a sealed memfd mapped by both sides, holding the header page, the request
/// slots and the reply slots. The guest creates it (<see cref="Create"/>) and sends the memfd;
/// the host adopts it (<see cref="Adopt"/>): seals it against resizing, so the guest cannot make
/// the host's mapping fault, reads the shape once and checks it against its limits.
/// </summary>
public sealed unsafe class SharedRing : IDisposable
{
    private readonly Mapping _mapping;

    private SharedRing(FileDescriptor memfd, Mapping mapping, RingShape shape, bool host)
    {
        Memfd = memfd;
        _mapping = mapping;
        Shape = shape;
        byte* b = mapping.Pointer;
        // The host consumes requests and produces replies; the guest the other way round.
        Requests = new RingQueue(b + shape.RequestSlotsOffset, shape.RequestSlots, shape.SlotSize,
            b + RingLayout.RequestTailOffset, b + RingLayout.RequestHeadOffset, b + RingLayout.HostSleepingOffset, producer: !host);
        Replies = new RingQueue(b + shape.ReplySlotsOffset, shape.ReplySlots, shape.SlotSize,
            b + RingLayout.ReplyTailOffset, b + RingLayout.ReplyHeadOffset, b + RingLayout.GuestSleepingOffset, producer: host);
        ReplyBell = (int*)(b + RingLayout.ReplyBellOffset);
    }

    public FileDescriptor Memfd { get; }

    public RingShape Shape { get; }

    /// <summary>Guest to host.</summary>
    public RingQueue Requests { get; }

    /// <summary>Host to guest.</summary>
    public RingQueue Replies { get; }

    /// <summary>The futex word the host bumps and wakes when the guest sleeps.</summary>
    internal int* ReplyBell { get; }

    /// <summary>Guest: a new ring of <paramref name="shape"/>, its header written, the guest marked sleeping until it reads.</summary>
    public static SharedRing Create(RingShape shape)
    {
        var memfd = MemFd.Create("pvdrm-ring", shape.Bytes);
        try
        {
            var mapping = Mapping.Map(memfd, shape.Bytes);
            var header = mapping.Slice(0, RingLayout.HeaderSize);
            Write(header, RingLayout.MagicOffset, RingLayout.Magic);
            Write(header, RingLayout.VersionOffset, RingLayout.Version);
            Write(header, RingLayout.SlotSizeOffset, (uint)shape.SlotSize);
            Write(header, RingLayout.RequestSlotsOffset, (uint)shape.RequestSlots);
            Write(header, RingLayout.ReplySlotsOffset, (uint)shape.ReplySlots);
            Write(header, RingLayout.GuestSleepingOffset, 1);
            return new SharedRing(memfd, mapping, shape, host: false);
        }
        catch
        {
            memfd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Host: takes ownership of <paramref name="memfd"/> (disposed on failure too), seals it,
    /// checks its size against the shape its header declares and the shape against
    /// <paramref name="limits"/>. Throws <see cref="ErrnoException"/> (EINVAL) with the reason.
    /// </summary>
    public static SharedRing Adopt(FileDescriptor memfd, RingLimits limits)
    {
        Mapping? mapping = null;
        try
        {
            ulong size = MemFd.SealForImport(memfd);
            if (size < RingLayout.HeaderSize || size > limits.MaxBytes)
                ErrnoException.Throw(Errno.EINVAL, $"ring refused: a memfd of {size} bytes is not between {RingLayout.HeaderSize} and {limits.MaxBytes} ({limits.BytesKey})");
            mapping = Mapping.Map(memfd, size);
            // The header is read once, here, into our own copy; the guest may scribble on it later.
            Span<byte> header = stackalloc byte[RingLayout.ReplySlotsOffset + 4];
            mapping.Slice(0, header.Length).CopyTo(header);
            if (Read(header, RingLayout.MagicOffset) != RingLayout.Magic || Read(header, RingLayout.VersionOffset) != RingLayout.Version)
                ErrnoException.Throw(Errno.EINVAL, $"ring refused: not a version {RingLayout.Version} ring (magic 0x{Read(header, 0):x8}, version {Read(header, 4)})");
            var shape = new RingShape((int)Math.Min(Read(header, RingLayout.SlotSizeOffset), int.MaxValue),
                (int)Math.Min(Read(header, RingLayout.RequestSlotsOffset), int.MaxValue),
                (int)Math.Min(Read(header, RingLayout.ReplySlotsOffset), int.MaxValue));
            shape.Validate(limits);
            if (shape.Bytes != size)
                ErrnoException.Throw(Errno.EINVAL, $"ring refused: its shape needs {shape.Bytes} bytes but the memfd has {size}");
            return new SharedRing(memfd, mapping, shape, host: true);
        }
        catch
        {
            mapping?.Dispose();
            memfd.Dispose();
            throw;
        }
    }

    /// <summary>Host: after publishing replies, wakes the guest if it sleeps (true then). Never waits.</summary>
    public bool WakeGuestIfSleeping()
    {
        if (!Replies.ConsumerNeedsWaking()) return false;
        Interlocked.Increment(ref *ReplyBell);
        Futex.WakeAll(ReplyBell);
        return true;
    }

    /// <summary>Guest: wakes its own reply reader (on close).</summary>
    internal void WakeReader()
    {
        Interlocked.Increment(ref *ReplyBell);
        Futex.WakeAll(ReplyBell);
    }

    private static void Write(Span<byte> header, int offset, uint value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header[offset..], value);

    private static uint Read(ReadOnlySpan<byte> header, int offset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header[offset..]);

    /// <summary>Unmaps and closes. Callers make sure nobody touches the queues any more.</summary>
    public void Dispose()
    {
        _mapping.Dispose();
        Memfd.Dispose();
    }
}
