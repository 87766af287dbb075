using System.Buffers;
using System.Diagnostics;
using PvDrm.Native.Interop;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// The guest's end of a ring connection. It creates the ring up front (<see cref="Memfd"/> is
/// what RING_ATTACH sends); once the host accepts, requests go into the request ring (ringing the
/// host's eventfd only when the host sleeps) and a reader thread of its own takes replies: it polls
/// for <see cref="RingPoll"/> after the last reply, then sleeps on the reply futex with its
/// sleeping flag up. A request with a descriptor goes over the socket, as do replies the host
/// could not put in the ring.
/// </summary>
public sealed unsafe class RingClientConnection : RingConnection
{
    private SharedRing? _offered;
    private FileDescriptor? _doorbell;
    private Thread? _reader;
    private volatile bool _stopping;
    private volatile string _closeReason = "";
    private readonly long _pollTicks;

    /// <param name="poll">How long the reader polls after a reply before sleeping on the doorbell.</param>
    public RingClientConnection(Connection socket, RingShape shape, TimeSpan poll) : base(socket)
    {
        _offered = SharedRing.Create(shape);
        _pollTicks = (long)(poll.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>How long the reader polls before sleeping; <see cref="AutoPoll"/> when a core is to spare.</summary>
    public TimeSpan RingPoll => TimeSpan.FromSeconds((double)_pollTicks / Stopwatch.Frequency);

    /// <summary>The default poll: 50 µs (a little more than a round trip) with 4 or more cores, none below (polling needs a spare core).</summary>
    public static TimeSpan AutoPoll => TimeSpan.FromMicroseconds(Environment.ProcessorCount >= 4 ? 50 : 0);

    /// <summary>The ring's memfd, to send with RING_ATTACH (this connection keeps ownership); null once attached or declined.</summary>
    public FileDescriptor? Memfd => _offered?.Memfd;

    /// <summary>The largest frame the ring carries; larger ones would have to go over the socket.</summary>
    public int SlotSize => (_offered ?? Ring)?.Shape.SlotSize ?? 0;

    public override long ReadBatch => Socket.ReadBatch;

    /// <summary>The host accepted: <paramref name="doorbell"/> (taken) is its request eventfd. Frames now travel in the ring.</summary>
    public void Attach(FileDescriptor doorbell)
    {
        lock (SendLock)
        {
            if (_offered is not { } ring || State != Open)
            {
                doorbell.Dispose();
                return;
            }
            _offered = null;
            _doorbell = doorbell;
            Ring = ring;
            _reader = new Thread(() => ReadReplies(ring)) { Name = "pvdrm-ring-reader", IsBackground = true };
            _reader.Start();
        }
    }

    /// <summary>The host refused the ring: frames stay on the socket and the ring's memory goes.</summary>
    public void Decline()
    {
        lock (SendLock)
        {
            _offered?.Dispose();
            _offered = null;
        }
    }

    public override bool Send(ReadOnlySpan<byte> frame, FileDescriptor? fd = null)
    {
        if (Ring is null) return Socket.Send(frame, fd);
        lock (SendLock)
        {
            if (State != Open || Ring is not { } ring) return false;
            bool put = false;
            if (!Enqueue(ring, frame, fd, ref put)) return false;
            if (put && ring.Requests.ConsumerNeedsWaking()) RingDoorbell();
            return true;
        }
    }

    /// <summary>
    /// Puts every frame in the ring (or behind those waiting for room) and rings the host's
    /// doorbell once at the end, if it sleeps: a burst costs the host one wake-up, not one per frame.
    /// </summary>
    public override bool SendFrames(ReadOnlySpan<byte> frames)
    {
        if (Ring is null) return base.SendFrames(frames);
        lock (SendLock)
        {
            if (State != Open || Ring is not { } ring) return false;
            bool put = false, sent = true;
            while (sent && frames.Length > 0)
            {
                int length = FrameLength(frames);
                sent = Enqueue(ring, frames[..length], null, ref put);
                frames = frames[length..];
            }
            // One check after the last put: a host that fell asleep at any point meanwhile sees its flag read here.
            if (put && ring.Requests.ConsumerNeedsWaking()) RingDoorbell();
            return sent;
        }
    }

    /// <summary>Doorbells rung so far (host wake-ups this side asked for), for tests and status.</summary>
    public long Doorbells => Interlocked.Read(ref _doorbells);

    /// <summary>True while the host's loop sleeps on this ring's doorbell (the next request will ring it).</summary>
    public bool HostSleeping => Ring is { } ring && ring.Requests.ConsumerSleeping;

    /// <summary>
    /// One frame into the ring, over the socket, or into the overflow queue; <paramref name="put"/>
    /// turns true when one went into the ring (the caller rings the doorbell). Under the send lock.
    /// </summary>
    private bool Enqueue(SharedRing ring, ReadOnlySpan<byte> frame, FileDescriptor? fd, ref bool put)
    {
        bool viaSocket = fd != null || frame.Length > ring.Shape.SlotSize;
        if (_overflow.Count == 0)
        {
            if (viaSocket) return Socket.Send(frame, fd);
            switch (ring.Requests.Put(frame, out string? corruption))
            {
                case PutResult.Put:
                    put = true;
                    return true;
                case PutResult.Corrupt:
                    RingCorrupt(corruption!);
                    return false;
            }
        }
        // Full (the host is behind, or holds back at its in-flight limit), or earlier frames
        // already wait: queue behind them, so no request overtakes another (not even one with
        // a descriptor, which goes over the socket), and the caller never blocks.
        if (_overflowBytes + frame.Length > MaxOverflowBytes)
        {
            Close($"the host is not taking requests: {_overflowBytes} bytes already wait for room in the ring");
            return false;
        }
        var data = ArrayPool<byte>.Shared.Rent(frame.Length);
        frame.CopyTo(data);
        _overflow.Enqueue(new Waiting(data, frame.Length, fd?.Duplicate(), viaSocket));
        _overflowBytes += frame.Length;
        if (!_overflowed)
        {
            _overflowed = true;
            // The reader may sleep until a reply; slots freed by reply-less requests bring none.
            ring.WakeReader();
        }
        return true;
    }

    /// <summary>Moves waiting frames into the ring (or the socket) in order, as far as there is room. The reader thread calls it.</summary>
    private void FlushOverflow(SharedRing ring)
    {
        string? corruption = null;
        lock (SendLock)
        {
            bool put = false;
            while (State == Open && _overflow.TryPeek(out var next))
            {
                if (!next.ViaSocket)
                {
                    var result = ring.Requests.Put(next.Data.AsSpan(0, next.Length), out corruption);
                    if (result != PutResult.Put) break;
                    put = true;
                }
                else if (!Socket.Send(next.Data.AsSpan(0, next.Length), next.Fd)) break;
                _overflow.Dequeue();
                _overflowBytes -= next.Length;
                next.Free();
            }
            if (put && ring.Requests.ConsumerNeedsWaking()) RingDoorbell();
            _overflowed = _overflow.Count > 0;
        }
        if (corruption != null) RingCorrupt(corruption);
    }

    /// <summary>Drops what still waits (the connection is gone).</summary>
    private void DropOverflow()
    {
        lock (SendLock)
        {
            while (_overflow.TryDequeue(out var dropped)) dropped.Free();
            _overflowBytes = 0;
            _overflowed = false;
        }
    }

    /// <summary>The most bytes that may wait for room in the ring (as a socket's send queue); more ends the connection.</summary>
    public const long MaxOverflowBytes = 16 * 1024 * 1024;

    /// <summary>How long the reader sleeps at most while frames wait for room: the host frees slots without telling.</summary>
    private const long OverflowRecheckNs = 200_000;

    private readonly Queue<Waiting> _overflow = new();
    private long _overflowBytes;
    private volatile bool _overflowed;

    private sealed record Waiting(byte[] Data, int Length, FileDescriptor? Fd, bool ViaSocket)
    {
        public void Free()
        {
            Fd?.Dispose();
            ArrayPool<byte>.Shared.Return(Data);
        }
    }

    private long _doorbells;

    /// <summary>Wakes the host's loop (its request eventfd). Under the send lock, so the doorbell is not disposed meanwhile.</summary>
    private void RingDoorbell()
    {
        ulong one = 1;
        write(_doorbell!.Number, &one, sizeof(ulong));
        Interlocked.Increment(ref _doorbells);
    }

    public override void PauseReceiving() => Socket.PauseReceiving();

    public override void ResumeReceiving() => Socket.ResumeReceiving();

    private void ReadReplies(SharedRing ring)
    {
        var replies = ring.Replies;
        byte[] buffer = new byte[replies.SlotSize];
        long lastWork = Stopwatch.GetTimestamp();
        while (true)
        {
            switch (replies.TryTake(buffer, out int length, out string? corruption))
            {
                case TakeResult.Frame:
                    Handler.OnFrame(buffer.AsSpan(0, length), null);
                    lastWork = Stopwatch.GetTimestamp();
                    continue;
                case TakeResult.Corrupt:
                    // The host broke the ring: close, and wait for the socket's end to finish here (once).
                    RingCorrupt(corruption!);
                    while (!_stopping)
                    {
                        int seen = Volatile.Read(ref *ring.ReplyBell);
                        if (!_stopping) Futex.Wait(ring.ReplyBell, seen);
                    }
                    Finish();
                    return;
            }
            if (_stopping) break;
            if (_overflowed)
            {
                FlushOverflow(ring);
                if (_overflowed)
                {
                    // Replies wake us at once; slots freed without a reply are seen at the next recheck.
                    int seen = Volatile.Read(ref *ring.ReplyBell);
                    if (replies.PrepareToSleep() && !_stopping) Futex.Wait(ring.ReplyBell, seen, OverflowRecheckNs);
                    continue;
                }
            }
            if (Stopwatch.GetTimestamp() - lastWork < _pollTicks)
            {
                Thread.Yield();
                continue;
            }
            int bell = Volatile.Read(ref *ring.ReplyBell);
            if (!replies.PrepareToSleep() || _stopping) continue;
            Futex.Wait(ring.ReplyBell, bell);
        }
        // Replies (a SHUTDOWN event) put in before the host closed still count.
        while (replies.TryTake(buffer, out int length, out _) == TakeResult.Frame) Handler.OnFrame(buffer.AsSpan(0, length), null);
        Finish();
    }

    private void Finish()
    {
        DropOverflow();
        ReleaseRing();
        _doorbell?.Dispose();
        Handler.OnClosed(_closeReason);
    }

    protected override void SocketClosed(string reason)
    {
        _closeReason = reason;
        SharedRing? attached;
        lock (SendLock) attached = Ring;
        if (attached == null)
        {
            Decline();
            ReleaseRing();
            Handler.OnClosed(reason);
            return;
        }
        _stopping = true;
        attached.WakeReader(); // it drains, releases the ring and tells the handler
    }
}
