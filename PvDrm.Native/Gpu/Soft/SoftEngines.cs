using System.Diagnostics;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The engine threads of one SoftGpu, shared by all its channels, like a GPU's engines.
///
/// Fairness: channels belong to owners (guests). When an engine is free it takes the owner
/// that has used the least engine time among owners with work waiting, runs that owner's next
/// channel for a turn, charges the time, and puts the channel back if it has more. So owners
/// share the engines by time, not by how many channels or pushbufs they queue; an owner that
/// was idle starts level with the others instead of banking credit. Within an owner, channels
/// take turns round robin.
///
/// Preemption: a turn lasts until the pushbuf ends or, once its time slice is used up, until
/// other work waits for an engine; it then yields at the next command or GEMM block and goes to
/// the back of the queue (<see cref="SoftSlice"/>). A SEMAPHORE_ACQUIRE that must wait while
/// others want the engine parks its channel off the engines; parked channels are re-checked by
/// idle engines every millisecond and by busy ones at every slice, and go back into the queue
/// when their value arrives, their timeout passes or they are cancelled. While another owner
/// waits, no owner is given its last free engine: with several engines, one guest holds at most
/// all but one. Idle engines wait on a monitor; nothing spins.
/// </summary>
internal sealed class SoftEngines : IDisposable
{
    private static readonly TimeSpan ParkedPoll = TimeSpan.FromMilliseconds(1);

    private readonly SoftGpu _device;
    private readonly object _lock = new();
    private readonly Dictionary<string, SoftOwner> _owners = new(StringComparer.Ordinal);
    private readonly List<SoftOwner> _ready = new();
    private readonly List<SoftChannel> _parked = new();
    private readonly Thread[] _threads;
    private bool _stopping;
    private int _readyChannels, _idle;
    private long _yields;
    private long _busyTicks; // engine time of every turn, under the lock
    private int _running;
    private int _peakRunning;

    public SoftEngines(SoftGpu device, int engines)
    {
        _device = device;
        _threads = new Thread[engines];
        for (int i = 0; i < engines; i++)
        {
            _threads[i] = new Thread(Run) { Name = $"softgpu-{device.Name}-{i}", IsBackground = true };
            _threads[i].Start();
        }
    }

    public int Running => Volatile.Read(ref _running);

    public int PeakRunning => Volatile.Read(ref _peakRunning);

    /// <summary>Engine time spent in all and by each owner with open channels.</summary>
    internal EngineUse Use()
    {
        lock (_lock)
            return new EngineUse(_threads.Length, Seconds(_busyTicks),
                _owners.Values.ToDictionary(o => o.Name, o => Seconds(o.EngineTicks), StringComparer.Ordinal));
    }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    /// <summary>Owners with open channels or queued work: tests check that departed guests leave none behind.</summary>
    internal int Owners
    {
        get
        {
            lock (_lock) return _owners.Count;
        }
    }

    /// <summary>Turns that ended because their slice was wanted elsewhere: tests see preemption happen.</summary>
    internal long Yields => Interlocked.Read(ref _yields);

    /// <summary>Channels parked on a semaphore, off the engines.</summary>
    internal int Parked
    {
        get
        {
            lock (_lock) return _parked.Count;
        }
    }

    /// <summary>Registers a channel of <paramref name="name"/>; pair with <see cref="Leave"/>.</summary>
    public SoftOwner Join(string name)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(name, out var owner)) _owners[name] = owner = new SoftOwner(name);
            owner.Channels++;
            return owner;
        }
    }

    public void Leave(SoftOwner owner)
    {
        lock (_lock)
        {
            if (--owner.Channels == 0 && owner.Runnable.Count == 0) _owners.Remove(owner.Name);
        }
    }

    public void Schedule(SoftChannel channel)
    {
        lock (_lock)
        {
            var owner = channel.Owner;
            if (owner.Runnable.Count == 0)
            {
                // Start level with those already waiting: time spent idle is not credit.
                if (_ready.Count > 0) owner.UsedTicks = Math.Max(owner.UsedTicks, LeastUsed().UsedTicks);
                _ready.Add(owner);
            }
            owner.Runnable.Enqueue(channel);
            _readyChannels++;
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>True when work waits that no idle engine will take: a running turn whose slice is up yields.</summary>
    internal bool IsWanted()
    {
        lock (_lock)
        {
            WakeParked();
            return _readyChannels > _idle;
        }
    }

    private void Park(SoftChannel channel)
    {
        lock (_lock)
        {
            _parked.Add(channel);
            Monitor.Pulse(_lock); // an idle engine starts polling
        }
    }

    /// <summary>Parked channels that may go on return to the run queue. Under the lock.</summary>
    private void WakeParked()
    {
        var timeout = _device.Options.SemaphoreTimeout;
        for (int i = _parked.Count - 1; i >= 0; i--)
        {
            var channel = _parked[i];
            if (channel.Parked is { } s && !s.MayResume(timeout, channel.CancelReason != null)) continue;
            _parked.RemoveAt(i);
            Schedule(channel);
        }
    }

    private (SoftChannel Channel, SoftOwner Owner)? Take()
    {
        lock (_lock)
        {
            _idle++;
            try
            {
                while (!_stopping)
                {
                    WakeParked();
                    if (_readyChannels > 0) break;
                    if (_parked.Count > 0) Monitor.Wait(_lock, ParkedPoll);
                    else Monitor.Wait(_lock);
                }
            }
            finally
            {
                _idle--;
            }
            if (_stopping) return null;
            var owner = Next();
            var channel = owner.Runnable.Dequeue();
            _readyChannels--;
            owner.Running++;
            if (owner.Runnable.Count == 0)
            {
                _ready.Remove(owner);
                // A departed owner whose last channel was still queued when it closed.
                if (owner.Channels == 0 && _owners.TryGetValue(owner.Name, out var listed) && listed == owner) _owners.Remove(owner.Name);
            }
            return (channel, owner);
        }
    }

    /// <summary>
    /// The waiting owner that has used the least engine time, passing over one that already holds
    /// all engines but this one while another owner waits. _ready is not empty.
    /// </summary>
    private SoftOwner Next()
    {
        SoftOwner? next = null;
        foreach (var o in _ready)
        {
            if (_ready.Count > 1 && _threads.Length > 1 && o.Running >= _threads.Length - 1) continue;
            if (next == null || o.UsedTicks < next.UsedTicks) next = o;
        }
        return next ?? LeastUsed();
    }

    /// <summary>The waiting owner that has used the least engine time; _ready is not empty.</summary>
    private SoftOwner LeastUsed()
    {
        var least = _ready[0];
        foreach (var o in _ready)
            if (o.UsedTicks < least.UsedTicks) least = o;
        return least;
    }

    /// <summary>An engine thread: one turn of a channel, then the channel goes back, parks, or finishes its pushbuf.</summary>
    private void Run()
    {
        var slice = new SoftSlice(this, _device.Options.TimeSlice);
        while (Take() is var (channel, owner))
        {
            var submission = channel.TakeNext();
            if (submission == null)
            {
                lock (_lock) owner.Running--;
                continue; // closed or drained since it was scheduled
            }

            int running = Interlocked.Increment(ref _running);
            for (int peak = Volatile.Read(ref _peakRunning); running > peak; peak = Volatile.Read(ref _peakRunning))
                if (Interlocked.CompareExchange(ref _peakRunning, running, peak) == peak) break;
            long started = Stopwatch.GetTimestamp();
            slice.Start(channel);
            SoftRunEnd end;
            int error;
            string? message;
            try
            {
                end = SoftExecutor.Run(submission, channel, _device.Options, slice, _device.Mappings, out error, out message);
            }
            catch (Exception e)
            {
                // SoftExecutor catches per command; this only guards the engine thread itself.
                (end, error, message) = (SoftRunEnd.Finished, Errno.EIO, $"engine failed: {e.Message}");
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }

            lock (_lock)
            {
                long used = Stopwatch.GetTimestamp() - started;
                owner.UsedTicks += used;
                owner.EngineTicks += used;
                _busyTicks += used;
                owner.Running--;
            }
            switch (end)
            {
                case SoftRunEnd.Yielded:
                    Interlocked.Increment(ref _yields);
                    Schedule(channel);
                    break;
                case SoftRunEnd.Parked:
                    Park(channel);
                    break;
                default:
                    bool more = channel.FinishedCurrent();
                    submission.Finish(_device, error, message);
                    if (more) Schedule(channel);
                    break;
            }
        }
    }

    /// <summary>
    /// Stops the engines (running turns end at their next step), then fails what was parked or
    /// between turns, including channels already closed, which their device no longer lists.
    /// </summary>
    public void Dispose()
    {
        List<SoftChannel> waiting;
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        foreach (var t in _threads)
            if (t != Thread.CurrentThread) t.Join();
        lock (_lock)
        {
            waiting = new List<SoftChannel>(_parked);
            foreach (var o in _ready) waiting.AddRange(o.Runnable);
            _parked.Clear();
        }
        foreach (var channel in waiting) channel.CancelQueued(started: true);
    }
}
