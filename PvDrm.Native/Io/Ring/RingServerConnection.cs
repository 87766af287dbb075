using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// The host's end of a ring connection. Requests are taken on the socket's event loop: the
/// guest's doorbell is an eventfd the host creates and registers with the loop, rung by the guest
/// only while the host's sleeping flag is up. Replies are put in the reply ring from any thread,
/// waking the guest (a futex) only when it sleeps; a reply with a descriptor, too large for a slot,
/// or meeting a full ring goes over the socket, whose bounded queue then applies.
/// A ring the guest breaks ends this connection only (<see cref="RingConnection.RingCorrupt"/>).
/// </summary>
public sealed unsafe class RingServerConnection : RingConnection, IReadinessHandler, IRingPoller
{
    private readonly EventLoop _loop;
    private readonly Action _drain;
    private FileDescriptor? _doorbell;
    private ulong _registration;
    private int _pausedFlag;
    private long _ringBatches;
    private readonly int _framesPerWake;

    public RingServerConnection(SocketConnection socket) : base(socket)
    {
        _loop = socket.Loop;
        _framesPerWake = socket.Options.FramesPerWake; // as many per wake as the socket takes
        _drain = Drain;
    }

    public override long ReadBatch => Socket.ReadBatch + _ringBatches;

    /// <summary>The loop that reads this connection, socket and ring.</summary>
    public EventLoop Loop => _loop;

    /// <summary>
    /// Adopts the guest's ring (<see cref="SharedRing.Adopt"/>: takes <paramref name="memfd"/>) and
    /// returns the request doorbell to send back; the caller disposes its copy after sending.
    /// Call on the loop thread. Throws <see cref="ErrnoException"/> when the ring is refused.
    /// </summary>
    public FileDescriptor Attach(FileDescriptor memfd, RingLimits limits)
    {
        if (Ring != null)
        {
            memfd.Dispose();
            ErrnoException.Throw(Errno.EEXIST, "a ring is already attached to this connection");
        }
        var ring = SharedRing.Adopt(memfd, limits);
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
        {
            int err = errno;
            ring.Dispose();
            ErrnoException.ThrowLibc("eventfd", err);
        }
        var doorbell = new FileDescriptor(efd);
        try
        {
            var copy = doorbell.Duplicate();
            lock (SendLock)
            {
                if (State == Closed) ErrnoException.Throw(Errno.ECONNRESET, "connection closed");
                Ring = ring;
                _doorbell = doorbell;
            }
            _registration = _loop.Register(doorbell, this);
            _loop.AddPoller(this);
            _loop.Post(_drain); // requests the guest wrote before it heard back
            return copy;
        }
        catch
        {
            ReleaseRing();
            doorbell.Dispose();
            throw;
        }
    }

    public override bool Send(ReadOnlySpan<byte> frame, FileDescriptor? fd = null)
    {
        string? corruption = null;
        if (fd == null && Ring != null)
            lock (SendLock)
            {
                if (State == Closed) return false;
                if (Ring is { } ring)
                    switch (ring.Replies.Put(frame, out corruption))
                    {
                        case PutResult.Put:
                            // Replies made while the loop drains a burst wake the guest once, when it ends.
                            if (_drainingThread == Environment.CurrentManagedThreadId) _wakeDeferred = true;
                            else WakeGuest(ring);
                            return true;
                    }
            }
        if (corruption == null) return Socket.Send(frame, fd);
        RingCorrupt(corruption);
        return false;
    }

    // Paused and resumed from any thread (the in-flight limit: replies resume): exchanges, so two
    // resumes post one drain and a pause is seen before the caller looks at its count again.
    public override void PauseReceiving()
    {
        Interlocked.Exchange(ref _pausedFlag, 1);
        Socket.PauseReceiving();
    }

    public override void ResumeReceiving()
    {
        Socket.ResumeReceiving();
        if (Interlocked.Exchange(ref _pausedFlag, 0) == 0) return;
        if (Ring != null) _loop.Post(_drain);
    }

    private bool Paused => Volatile.Read(ref _pausedFlag) != 0;

    void IReadinessHandler.OnReady(uint events)
    {
        if ((events & (uint)EPOLLIN) == 0 || _doorbell is not { } doorbell) return;
        ulong value;
        read(doorbell.Number, &value, sizeof(ulong)); // reset the counter; EAGAIN when already read
        Drain();
    }

    /// <summary>The loop polls instead of sleeping: take what waits, keeping the sleeping flag down.</summary>
    bool IRingPoller.Poll()
    {
        if (Ring is not { } ring || Paused || State != Open) return false;
        ring.Requests.Awake();
        if (!ring.Requests.HasWork) return false;
        Drain(sleepWhenEmpty: false);
        return true;
    }

    /// <summary>The loop is about to sleep: raise the flag; false if a request came meanwhile.</summary>
    bool IRingPoller.PrepareToSleep() => Ring is not { } ring || Paused || State != Open || ring.Requests.PrepareToSleep();

    private void Drain() => Drain(sleepWhenEmpty: !_loop.Polling);

    /// <summary>Times the guest was woken for replies (its futex), for tests and status.</summary>
    public long GuestWakes => Interlocked.Read(ref _guestWakes);

    private long _guestWakes;

    // The loop thread while it drains (0 otherwise): replies it makes meanwhile defer their wake-up.
    private volatile int _drainingThread;
    private bool _wakeDeferred;

    private void WakeGuest(SharedRing ring)
    {
        if (ring.WakeGuestIfSleeping()) Interlocked.Increment(ref _guestWakes);
    }

    /// <summary>Takes up to a wake's worth of requests, then wakes the guest once for the replies made meanwhile.</summary>
    private void Drain(bool sleepWhenEmpty)
    {
        if (Ring is null) return;
        _drainingThread = Environment.CurrentManagedThreadId;
        try
        {
            DrainRequests(sleepWhenEmpty);
        }
        finally
        {
            _drainingThread = 0;
            if (_wakeDeferred)
            {
                _wakeDeferred = false;
                lock (SendLock)
                    if (State != Closed && Ring is { } ring) WakeGuest(ring);
            }
        }
    }

    /// <summary>Takes up to a wake's worth of requests, each copied out before it is handed on.</summary>
    private void DrainRequests(bool sleepWhenEmpty)
    {
        if (Ring is not { } ring) return;
        _ringBatches++;
        var requests = ring.Requests;
        byte[] buffer = _loop.ReceiveBuffer(requests.SlotSize);
        for (int budget = _framesPerWake; budget > 0; budget--)
        {
            if (Paused || State != Open) return;
            switch (requests.TryTake(buffer, out int length, out string? corruption))
            {
                case TakeResult.Corrupt:
                    RingCorrupt(corruption!);
                    return;
                case TakeResult.Empty:
                    if (!sleepWhenEmpty || requests.PrepareToSleep()) return;
                    continue;
            }
            try
            {
                Handler.OnFrame(buffer.AsSpan(0, length), null);
            }
            catch (Exception e)
            {
                Close($"frame handler failed: {e.Message}");
                return;
            }
        }
        _loop.Post(_drain); // fairness: the other connections on this loop run first
    }

    protected override void SocketClosed(string reason)
    {
        // On the loop thread (the socket tears down there): nothing drains concurrently.
        if (_doorbell is { } doorbell)
        {
            _loop.RemovePoller(this);
            _loop.Unregister(_registration, doorbell);
            doorbell.Dispose();
            _doorbell = null;
        }
        ReleaseRing();
        Handler.OnClosed(reason);
    }
}
