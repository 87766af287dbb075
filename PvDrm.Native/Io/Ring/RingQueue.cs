using System.Runtime.CompilerServices;

namespace PvDrm.Native.Io.Ring;

/// <summary>What <see cref="RingQueue.Put"/> did.</summary>
public enum PutResult
{
    Put,
    /// <summary>No free slot (or the frame is larger than a slot).</summary>
    Full,
    /// <summary>The consumer's index is out of bounds: end the connection.</summary>
    Corrupt,
}

/// <summary>What <see cref="RingQueue.TryTake"/> found.</summary>
public enum TakeResult
{
    Empty,
    Frame,
    /// <summary>The peer broke the ring (an index or a length out of bounds): end the connection.</summary>
    Corrupt,
}

/// <summary>
/// One direction of a shared ring: slots of frames, a tail the producer advances, a head the
/// consumer advances, and the consumer's "sleeping" flag. Each side keeps its own index privately
/// and only publishes it, so what the peer writes into the shared copy never moves it; every index
/// read from the peer is bounded before use, and every frame is copied out (its length read
/// once) before anyone looks at it. Not thread-safe: one producer, one consumer.
/// </summary>
public sealed unsafe class RingQueue
{
    private readonly byte* _slots;
    private readonly uint* _tail;
    private readonly uint* _head;
    private readonly int* _sleeping;
    private readonly uint _count;
    private readonly int _slotSize;
    private uint _next; // the producer's tail or the consumer's head: ours, never re-read from the ring

    /// <param name="producer">True on the writing side: <paramref name="tail"/> is ours; else <paramref name="head"/> is.</param>
    internal RingQueue(byte* slots, int count, int slotSize, byte* tail, byte* head, byte* sleeping, bool producer)
    {
        _slots = slots;
        _count = (uint)count;
        _slotSize = slotSize;
        _tail = (uint*)tail;
        _head = (uint*)head;
        _sleeping = (int*)sleeping;
        // Start from what the ring says once (read here only), whatever the creator wrote.
        _next = producer ? Volatile.Read(ref *_tail) : Volatile.Read(ref *_head);
    }

    public int SlotSize => _slotSize;

    /// <summary>
    /// Producer: copies <paramref name="frame"/> into the next slot and publishes it. Full when the
    /// consumer has not freed a slot (or the frame is larger than one): the frame goes another way
    /// or waits. Corrupt when the consumer's head is out of bounds.
    /// </summary>
    public PutResult Put(ReadOnlySpan<byte> frame, out string? corruption)
    {
        corruption = null;
        if (frame.Length > _slotSize) return PutResult.Full;
        uint head = Volatile.Read(ref *_head);
        uint used = _next - head;
        if (used > _count)
        {
            corruption = $"ring head {head} is {unchecked(head - _next)} frames past tail {_next}, or more than the {_count} slots behind it";
            return PutResult.Corrupt;
        }
        if (used == _count) return PutResult.Full;
        frame.CopyTo(new Span<byte>(Slot(_next), _slotSize));
        _next++;
        Volatile.Write(ref *_tail, _next); // release: the bytes are visible before the index
        return PutResult.Put;
    }

    /// <summary>Producer: <see cref="Put"/>, true when the frame went in.</summary>
    public bool TryPut(ReadOnlySpan<byte> frame) => Put(frame, out _) == PutResult.Put;

    /// <summary>Producer: true when the frame just published must be followed by a doorbell (the consumer sleeps).</summary>
    public bool ConsumerNeedsWaking()
    {
        Interlocked.MemoryBarrier(); // our tail store before reading the flag (pairs with PrepareToSleep)
        return Volatile.Read(ref *_sleeping) != 0 && Interlocked.CompareExchange(ref *_sleeping, 0, 1) == 1;
    }

    /// <summary>
    /// Consumer: copies the next frame into <paramref name="destination"/>; <paramref name="length"/>
    /// is its size. The length is read once from the slot and bounded by the slot and the
    /// destination; the copy's own length field is set to it, so the frame validated later is
    /// exactly the bytes taken, whatever the producer writes meanwhile.
    /// </summary>
    public TakeResult TryTake(Span<byte> destination, out int length, out string? corruption)
    {
        length = 0;
        corruption = null;
        uint tail = Volatile.Read(ref *_tail); // acquire: the slot's bytes are visible after it
        uint ahead = tail - _next;
        if (ahead == 0) return TakeResult.Empty;
        if (ahead > _count)
        {
            corruption = $"ring tail {tail} is {ahead} frames past head {_next}, more than the {_count} slots";
            return TakeResult.Corrupt;
        }
        byte* slot = Slot(_next);
        uint size = Volatile.Read(ref *(uint*)slot);
        if (size < sizeof(uint) || size > (uint)_slotSize || size > (uint)destination.Length)
        {
            corruption = $"ring slot {_next & (_count - 1)} holds a frame of {size} bytes (slots are {_slotSize})";
            return TakeResult.Corrupt;
        }
        new ReadOnlySpan<byte>(slot, (int)size).CopyTo(destination);
        Unsafe.WriteUnaligned(ref destination[0], size);
        length = (int)size;
        _next++;
        Volatile.Write(ref *_head, _next); // the slot may be reused now: we hold our copy
        return TakeResult.Frame;
    }

    /// <summary>Consumer: true when a frame waits (the tail moved), without taking it.</summary>
    public bool HasWork => Volatile.Read(ref *_tail) != _next;

    /// <summary>
    /// Consumer: raises the sleeping flag before waiting on the doorbell. False (flag lowered again)
    /// when a frame arrived meanwhile: then do not sleep, take it.
    /// </summary>
    public bool PrepareToSleep()
    {
        Volatile.Write(ref *_sleeping, 1);
        Interlocked.MemoryBarrier(); // the flag store before reading the tail (pairs with ConsumerNeedsWaking)
        if (!HasWork) return true;
        Volatile.Write(ref *_sleeping, 0);
        return false;
    }

    /// <summary>Producer: true while the consumer says it sleeps (the next frame would ring its doorbell).</summary>
    public bool ConsumerSleeping => Volatile.Read(ref *_sleeping) != 0;

    /// <summary>Consumer: lowers the sleeping flag (awake and polling).</summary>
    public void Awake() => Volatile.Write(ref *_sleeping, 0);

    private byte* Slot(uint index) => _slots + (ulong)(index & (_count - 1)) * (ulong)_slotSize;
}
