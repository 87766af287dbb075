using System.Diagnostics;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The engine threads of one SoftGpu, shared by all its channels, like a GPU's engines.
///
/// Fairness: channels belong to owners (guests). When an engine is free it takes the owner
/// that has used the least engine time among owners with work waiting, runs one pushbuf of that
/// owner's next channel, charges the time, and puts the channel back if it has more. So owners
/// share the engines by time, not by how many channels or pushbufs they queue; an owner that
/// was idle starts level with the others instead of banking credit. Within an owner, channels
/// take turns round robin, one pushbuf per turn, so a channel with a long queue cannot starve
/// another. A pushbuf is never split or preempted: it runs on one thread from start to end (a
/// cancelled one stops between commands). Idle engines wait on a monitor; nothing spins.
/// </summary>
internal sealed class SoftEngines : IDisposable
{
    private readonly SoftGpu _device;
    private readonly object _lock = new();
    private readonly Dictionary<string, SoftOwner> _owners = new(StringComparer.Ordinal);
    private readonly List<SoftOwner> _ready = new();
    private readonly Thread[] _threads;
    private bool _stopping;
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

    /// <summary>Owners with open channels or queued work: tests check that departed guests leave none behind.</summary>
    internal int Owners
    {
        get
        {
            lock (_lock) return _owners.Count;
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
            Monitor.Pulse(_lock);
        }
    }

    private (SoftChannel Channel, SoftOwner Owner)? Take()
    {
        lock (_lock)
        {
            while (_ready.Count == 0 && !_stopping) Monitor.Wait(_lock);
            if (_stopping) return null;
            var owner = LeastUsed();
            var channel = owner.Runnable.Dequeue();
            if (owner.Runnable.Count == 0)
            {
                _ready.Remove(owner);
                // A departed owner whose last channel was still queued when it closed.
                if (owner.Channels == 0 && _owners.TryGetValue(owner.Name, out var listed) && listed == owner) _owners.Remove(owner.Name);
            }
            return (channel, owner);
        }
    }

    /// <summary>The waiting owner that has used the least engine time; _ready is not empty.</summary>
    private SoftOwner LeastUsed()
    {
        var least = _ready[0];
        foreach (var o in _ready)
            if (o.UsedTicks < least.UsedTicks) least = o;
        return least;
    }

    /// <summary>An engine thread: one pushbuf per turn, then the channel goes to the back of its owner's queue.</summary>
    private void Run()
    {
        while (Take() is var (channel, owner))
        {
            var submission = channel.TakeNext();
            if (submission == null) continue; // closed or drained since it was scheduled

            int running = Interlocked.Increment(ref _running);
            for (int peak = Volatile.Read(ref _peakRunning); running > peak; peak = Volatile.Read(ref _peakRunning))
                if (Interlocked.CompareExchange(ref _peakRunning, running, peak) == peak) break;
            long started = Stopwatch.GetTimestamp();
            (int error, string? message) result;
            try
            {
                result = SoftExecutor.Run(submission, channel, _device.Options);
            }
            catch (Exception e)
            {
                // SoftExecutor catches per command; this only guards the engine thread itself.
                result = (Errno.EIO, $"engine failed: {e.Message}");
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }

            lock (_lock) owner.UsedTicks += Stopwatch.GetTimestamp() - started;
            submission.Finish(_device, result.error, result.message);
            if (channel.HasMore()) Schedule(channel);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        foreach (var t in _threads)
            if (t != Thread.CurrentThread) t.Join();
    }
}

/// <summary>The channels of one owner waiting for an engine, and the engine time it has used.</summary>
internal sealed class SoftOwner
{
    public SoftOwner(string name) => Name = name;

    public string Name { get; }

    public Queue<SoftChannel> Runnable { get; } = new();

    public long UsedTicks { get; set; }

    public int Channels { get; set; }
}
