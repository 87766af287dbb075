using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A SoftGpu channel: a FIFO of submissions, run one at a time, in order, by whichever engine
/// takes the channel next (<see cref="SoftEngines"/>). The submission at the head stays current
/// across turns: when it yields or parks, the channel later resumes it where it stopped.
/// </summary>
internal sealed class SoftChannel : IGpuChannel
{
    private readonly SoftGpu _device;
    private readonly object _lock = new();
    private readonly Queue<SoftSubmission> _queue = new();
    private SoftSubmission? _current; // started, between turns or running
    private ulong _lastSeqno;
    private bool _scheduled; // in the engines' run queue, running, or parked
    private volatile bool _disposed;

    /// <summary>Charged per pushbuf beside its command bytes: the submission and fence themselves.</summary>
    internal const long SubmissionOverhead = 256;

    public SoftChannel(SoftGpu device, string owner)
    {
        _device = device;
        Owner = device.Engines.Join(owner);
    }

    /// <summary>
    /// The started submission, read without the lock by the engines' parked-channel check (a
    /// parked submission does not change until an engine takes it again).
    /// </summary>
    internal SoftSubmission? Parked => Volatile.Read(ref _current);

    /// <summary>Whose channel this is, for sharing the engines fairly.</summary>
    internal SoftOwner Owner { get; }

    /// <summary>
    /// Why work on this channel must stop (closed, or the device shut down), or null. A running
    /// pushbuf checks it at every step (command, chunk, GEMM block) and while a semaphore waits (<see cref="SoftExecutor"/>).
    /// </summary>
    internal string? CancelReason =>
        _disposed ? "channel closed" : _device.IsShutDown ? $"SoftGpu {_device.Name} shut down" : null;

    /// <summary>
    /// Validates the pushbuf, copies and checks its commands, charges them to the owner's and
    /// the device's queued-command budget, then queues them; nothing runs unless every check
    /// passed (SOFTGPU.md, "Submission").
    /// </summary>
    public GpuFence Submit(Pushbuf pushbuf)
    {
        var buffers = new SoftBuffer[pushbuf.Buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            if (pushbuf.Buffers[i] is not SoftBuffer buffer || buffer.Device != _device)
                throw new ErrnoException(Errno.EINVAL, $"pushbuf: buffer {i} does not belong to SoftGpu {_device.Name}");
            buffers[i] = buffer;
        }
        // Lazily backed buffers get their memory now, so running out of it fails this call, not the engine.
        foreach (var b in buffers) b.Touch();

        // Copy first, then check and run only the copy: the guest may keep writing its command buffer.
        byte[] stream = SoftPushGather.Gather(pushbuf, _device.Options.MaxCommandBytes);
        var access = (BufferAccess[])pushbuf.Access.Clone();
        SoftCommandDecoder.Validate(stream, buffers, access);
        long charge = stream.Length + SubmissionOverhead + 16L * buffers.Length;

        lock (_lock)
        {
            if (CancelReason is string why) ErrnoException.Throw(Errno.ENODEV, $"cannot submit: {why}");
            _device.CommandBudget.Charge(Owner, charge);
            foreach (var b in buffers) b.AddRef();
            return Enqueue(new SoftSubmission(buffers, access, stream, Owner, charge, new GpuFence(++_lastSeqno)));
        }
    }

    /// <summary>
    /// Queues a scrub of <paramref name="buffer"/> (its pages freed a chunk per step, see
    /// <see cref="SoftExecutor"/>), charged like a pushbuf without commands.
    /// </summary>
    internal GpuFence SubmitScrub(SoftBuffer buffer)
    {
        lock (_lock)
        {
            if (CancelReason is string why) ErrnoException.Throw(Errno.ENODEV, $"cannot scrub: {why}");
            _device.CommandBudget.Charge(Owner, SubmissionOverhead);
            buffer.AddRef();
            return Enqueue(new SoftSubmission([buffer], [BufferAccess.Write], [], Owner, SubmissionOverhead, new GpuFence(++_lastSeqno)) { Scrub = buffer });
        }
    }

    /// <summary>Queues a charged submission and puts the channel in the engines' run queue if it is not there. Under the lock.</summary>
    private GpuFence Enqueue(SoftSubmission submission)
    {
        _queue.Enqueue(submission);
        _device.OnSubmitted();
        if (!_scheduled)
        {
            _scheduled = true;
            _device.Engines.Schedule(this);
        }
        return submission.Fence;
    }

    /// <summary>
    /// Engine side: the started submission to resume (a cancelled one then stops at once), else
    /// the next queued one, or null (the channel then leaves the run queue).
    /// </summary>
    internal SoftSubmission? TakeNext()
    {
        lock (_lock)
        {
            if (_current != null) return _current;
            if (CancelReason != null || _queue.Count == 0)
            {
                _scheduled = false;
                return null;
            }
            return _current = _queue.Dequeue();
        }
    }

    /// <summary>Engine side, once the current submission finished: true if the channel goes back into the run queue.</summary>
    internal bool FinishedCurrent()
    {
        lock (_lock)
        {
            _current = null;
            if (CancelReason == null && _queue.Count > 0) return true;
            _scheduled = false;
            return false;
        }
    }

    /// <summary>
    /// Fails every queued submission with ECANCELED (closed channel, or device shutdown); with
    /// <paramref name="started"/>, also the one between turns (only once no engine can run it).
    /// </summary>
    internal void CancelQueued(bool started = false)
    {
        SoftSubmission[] cancelled;
        SoftSubmission? current = null;
        lock (_lock)
        {
            if (started) (current, _current) = (_current, null);
            cancelled = _queue.ToArray();
            _queue.Clear();
        }
        string why = CancelReason ?? "cancelled";
        current?.Finish(_device, Errno.ECANCELED, $"{why} while the pushbuf was between turns");
        foreach (var s in cancelled) s.Finish(_device, Errno.ECANCELED, $"{why} before the pushbuf ran");
    }

    /// <summary>Cancels queued work; a running pushbuf stops at its next command (IGpuChannel's contract).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        CancelQueued();
        _device.Engines.Leave(Owner);
        _device.OnChannelClosed(this);
    }
}
