namespace PvDrm.Native.Gpu;

/// <summary>
/// Completion of one submission. Signalled exactly once, by the device, with 0 or an errno
/// (ECANCELED when its channel went away first, ETIMEDOUT when a semaphore wait gave up).
/// Waiters register callbacks; nobody blocks a thread on a fence.
/// </summary>
public sealed class GpuFence
{
    private readonly object _lock = new();
    private Action<GpuFence>? _callbacks;
    private volatile bool _signaled;

    public GpuFence(ulong seqno)
    {
        Seqno = seqno;
    }

    /// <summary>The device's sequence number within its channel (host-internal; guests see their own numbers).</summary>
    public ulong Seqno { get; }

    public bool IsSignaled => _signaled;

    /// <summary>0 when the work completed, otherwise the positive errno it failed with. Valid once signalled.</summary>
    public int Error { get; private set; }

    /// <summary>Why the work failed, when it did.</summary>
    public string? Message { get; private set; }

    /// <summary>Signals the fence and runs the callbacks on this thread; later calls are ignored.</summary>
    public bool TrySignal(int error = 0, string? message = null)
    {
        Action<GpuFence>? callbacks;
        lock (_lock)
        {
            if (_signaled) return false;
            Error = error;
            Message = message;
            _signaled = true;
            callbacks = _callbacks;
            _callbacks = null;
        }
        callbacks?.Invoke(this);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="callback"/> once the fence signals: at once, on this thread, if it
    /// already has. Callbacks must be short and must not block (tell an actor, complete a task).
    /// </summary>
    public void OnSignaled(Action<GpuFence> callback)
    {
        lock (_lock)
        {
            if (!_signaled)
            {
                _callbacks += callback;
                return;
            }
        }
        callback(this);
    }

    /// <summary>A task for code outside actors (tests, in-process baselines).</summary>
    public Task WaitAsync()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        OnSignaled(_ => tcs.TrySetResult());
        return tcs.Task;
    }

    public override string ToString() =>
        !_signaled ? $"fence {Seqno} (pending)" : Error == 0 ? $"fence {Seqno} (done)" : $"fence {Seqno} (failed: {Message})";
}
