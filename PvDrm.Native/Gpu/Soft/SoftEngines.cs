namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// The engine threads of one SoftGpu, shared by all its channels, like a GPU's engines. A channel
/// with work waits in one run queue; an engine takes it, runs one pushbuf, and puts it back at
/// the end if more is waiting. So channels take turns (a channel with a thousand queued pushbufs
/// cannot starve another), each pushbuf runs on one engine start to end, and idle engines sleep.
/// </summary>
internal sealed class SoftEngines : IDisposable
{
    private readonly SoftGpu _device;
    private readonly object _lock = new();
    private readonly Queue<SoftChannel> _runnable = new();
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

    public void Schedule(SoftChannel channel)
    {
        lock (_lock)
        {
            _runnable.Enqueue(channel);
            Monitor.Pulse(_lock);
        }
    }

    private void Run()
    {
        while (true)
        {
            SoftChannel channel;
            lock (_lock)
            {
                while (_runnable.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (_stopping) return;
                channel = _runnable.Dequeue();
            }
            var submission = channel.TakeNext();
            if (submission == null) continue;

            int running = Interlocked.Increment(ref _running);
            for (int peak = _peakRunning; running > peak; peak = _peakRunning)
                if (Interlocked.CompareExchange(ref _peakRunning, running, peak) == peak) break;
            var (error, message) = SoftExecutor.Run(submission, channel, _device.Options);
            Interlocked.Decrement(ref _running);

            submission.Finish(error, message);
            _device.OnCompleted();
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
