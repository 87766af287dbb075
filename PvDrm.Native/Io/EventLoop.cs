using System.Collections.Concurrent;
using System.Diagnostics;
using PvDrm.Native.Interop;
using PvDrm.Native.Io.Ring;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io;

/// <summary>
/// One named thread that waits for readiness with epoll (edge-triggered) and runs short
/// callbacks: the thin I/O loop. Connections read, decode and hand frames to actors from here;
/// nothing is ever blocked on a socket. Work can be posted to the loop from any thread.
/// </summary>
public sealed unsafe class EventLoop : IDisposable
{
    private const ulong WakeId = 0;
    private const int MaxEventsPerWait = 64;

    private static readonly Lazy<EventLoop> s_default = new(() => new EventLoop("pvdrm-io", AutoPoll));

    private readonly FileDescriptor _epoll;
    private readonly FileDescriptor _wake;
    private readonly ConcurrentDictionary<ulong, IReadinessHandler> _handlers = new();
    private readonly ConcurrentQueue<Action> _posted = new();
    private readonly Thread _thread;
    private long _nextId;
    private int _wakePending;
    private volatile bool _stopping;
    private byte[] _receiveBuffer = new byte[64 * 1024];
    private long _spinTicks;
    private readonly List<IRingPoller> _pollers = new(); // loop thread only

    /// <param name="spin">
    /// How long the loop keeps polling after it last had work before it sleeps in epoll_wait.
    /// A request/reply peer usually answers within tens of microseconds, and waking a sleeping
    /// thread costs about as much as the whole round trip; polling (yielding the core to any
    /// other runnable thread) catches the answer without that wake-up. Zero: always sleep.
    /// </param>
    public EventLoop(string name, TimeSpan spin = default)
    {
        _spinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        int epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0) ErrnoException.ThrowLibc("epoll_create1", errno);
        _epoll = new FileDescriptor(epfd);

        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0) ErrnoException.ThrowLibc("eventfd", errno);
        _wake = new FileDescriptor(efd);
        Control(EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLET, WakeId);

        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>
    /// The poll of <see cref="Default"/> until the host or proxy sets its configured one
    /// (<c>pvdrm.host.io-poll</c>, <c>pvdrm.guest.io-poll</c>, "auto"): 50 µs (a little more than a
    /// round trip) with 4 or more cores, and none below that: polling needs a spare core, and on
    /// 2 cores it measurably delays engine and actor threads under load.
    /// </summary>
    public static TimeSpan AutoPoll => TimeSpan.FromMicroseconds(Environment.ProcessorCount >= 4 ? 50 : 0);

    /// <summary>
    /// How long the loop keeps polling (its sockets and rings) after it last had work before it
    /// sleeps; zero: always sleep. Takes effect from the loop's next turn.
    /// </summary>
    public TimeSpan Poll
    {
        get => TimeSpan.FromSeconds((double)Volatile.Read(ref _spinTicks) / Stopwatch.Frequency);
        set
        {
            Volatile.Write(ref _spinTicks, (long)(Math.Max(0, value.TotalSeconds) * Stopwatch.Frequency));
            Post(static () => { }); // a sleeping loop picks it up now
        }
    }

    /// <summary>The process-wide loop, started on first use.</summary>
    public static EventLoop Default => s_default.Value;

    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>True when the loop polls for a while after work before sleeping: rings it reads then need no doorbell meanwhile.</summary>
    public bool Polling => Volatile.Read(ref _spinTicks) > 0;

    /// <summary>Reads <paramref name="poller"/>'s ring while polling, and raises its sleeping flag before sleeping. Loop thread only.</summary>
    public void AddPoller(IRingPoller poller) => _pollers.Add(poller);

    /// <summary>Stops polling <paramref name="poller"/>. Loop thread only.</summary>
    public void RemovePoller(IRingPoller poller) => _pollers.Remove(poller);

    /// <summary>
    /// A scratch buffer of at least <paramref name="size"/> bytes, valid only on the loop thread
    /// until the next call: every connection on this loop receives into it, so idle connections
    /// hold no receive memory.
    /// </summary>
    internal byte[] ReceiveBuffer(int size)
    {
        if (_receiveBuffer.Length < size) _receiveBuffer = new byte[size];
        return _receiveBuffer;
    }

    /// <summary>Watches <paramref name="fd"/> for input, output and hang-up (edge-triggered).</summary>
    public ulong Register(FileDescriptor fd, IReadinessHandler handler)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        _handlers[id] = handler;
        try
        {
            Control(EPOLL_CTL_ADD, fd.Number, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, id);
        }
        catch
        {
            _handlers.TryRemove(id, out _);
            throw;
        }
        return id;
    }

    /// <summary>Stops watching; events already fetched for <paramref name="id"/> are dropped.</summary>
    public void Unregister(ulong id, FileDescriptor fd)
    {
        _handlers.TryRemove(id, out _);
        if (!fd.IsClosed)
        {
            epoll_event ev = default;
            epoll_ctl(_epoll.Number, EPOLL_CTL_DEL, fd.Number, &ev); // fails only if already gone
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the loop thread soon. Posted from the loop itself (an
    /// actor on the loop telling another) it runs in the same turn, with no doorbell: the loop
    /// looks at its queue before it sleeps.
    /// </summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        if (IsLoopThread) return;
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            write(_wake.Number, &one, sizeof(ulong));
        }
    }

    private void Control(int op, int fd, int events, ulong id)
    {
        epoll_event ev = default;
        ev.events = events;
        ev.data.u64 = id;
        if (epoll_ctl(_epoll.Number, op, fd, &ev) != 0) ErrnoException.ThrowLibc("epoll_ctl", errno);
    }

    private void Run()
    {
        epoll_event* events = stackalloc epoll_event[MaxEventsPerWait];
        long spinUntil = 0;
        while (!_stopping)
        {
            long spinTicks = Volatile.Read(ref _spinTicks);
            // Work posted from the loop itself (actors on it) rang no doorbell: it keeps the loop awake.
            bool busy = (spinTicks > 0 && Stopwatch.GetTimestamp() < spinUntil) || !_posted.IsEmpty;
            // Before sleeping, every ring says so (its peer then rings); one that got work meanwhile keeps us awake.
            bool ringWork = !busy && !PrepareRingsToSleep();
            int n = epoll_wait(_epoll.Number, events, MaxEventsPerWait, busy || ringWork ? 0 : -1);
            if (n < 0)
            {
                int err = errno;
                if (err == EINTR) continue;
                Environment.FailFast($"epoll_wait failed: errno {err}");
            }
            for (int i = 0; i < n; i++)
            {
                ulong id = events[i].data.u64;
                if (id == WakeId)
                {
                    ulong value;
                    read(_wake.Number, &value, sizeof(ulong));
                    continue;
                }
                if (!_handlers.TryGetValue(id, out var handler)) continue;
                try
                {
                    handler.OnReady((uint)events[i].events);
                }
                catch (Exception e)
                {
                    UnhandledException(e);
                }
            }
            bool posted = RunPosted();
            bool polled = (busy || ringWork) && PollRings();
            if (n > 0 || posted || polled) spinUntil = Stopwatch.GetTimestamp() + spinTicks;
            else if (busy) Thread.Yield(); // let whatever else wants this core run first
        }
    }

    private bool PrepareRingsToSleep()
    {
        bool all = true;
        foreach (var poller in _pollers)
        {
            try
            {
                all &= poller.PrepareToSleep();
            }
            catch (Exception e)
            {
                UnhandledException(e);
            }
        }
        return all;
    }

    private bool PollRings()
    {
        bool any = false;
        // A poll may close its connection, which removes its poller: walk down by index.
        for (int i = _pollers.Count - 1; i >= 0; i--)
        {
            if (i >= _pollers.Count) continue;
            try
            {
                any |= _pollers[i].Poll();
            }
            catch (Exception e)
            {
                UnhandledException(e);
            }
        }
        return any;
    }

    /// <summary>
    /// Runs what was posted so far; true if there was anything. What these post in turn (a request
    /// passing from actor to actor on this loop, a connection's next batch) runs next turn, after
    /// the sockets and rings had theirs.
    /// </summary>
    private bool RunPosted()
    {
        // Clear the flag first: a Post racing with this drain then rings the doorbell again. A full
        // fence (not a release store): the flag's store must be visible before the queue is read,
        // or a Post that saw the flag still set and enqueued meanwhile is left for the next event.
        Interlocked.Exchange(ref _wakePending, 0);
        if (_posted.IsEmpty) return false;
        int budget = _posted.Count;
        while (budget-- > 0 && _posted.TryDequeue(out var action)) Guard(action);
        return true;
    }

    /// <summary>
    /// Where a callback's exception goes. Handlers are expected to catch their own failures;
    /// an escaped one must not take the loop (and every connection on it) down.
    /// </summary>
    public static Action<Exception> UnhandledException { get; set; } =
        e => Console.Error.WriteLine($"pvdrm-io: unhandled exception in a loop callback: {e}");

    private static void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            UnhandledException(e);
        }
    }

    public void Dispose()
    {
        if (s_default.IsValueCreated && this == s_default.Value) return; // the process-wide loop lives as long as the process
        _stopping = true;
        Post(static () => { });
        if (!IsLoopThread) _thread.Join();
        _epoll.Dispose();
        _wake.Dispose();
    }
}
