using PvDrm.Protocol;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The proxy's one window of requests in flight to the host, shared fairly among its
/// applications: each application has its own queue, an application holds at most
/// <see cref="UpstreamLimits.InFlightPerApplication"/> slots (strictly fewer than the window),
/// and freed slots go to the waiting applications in turn. Requests of one application leave
/// in the order they came. Not thread-safe: <see cref="UpstreamLink"/> calls it under its lock.
/// </summary>
internal sealed class UpstreamQueues
{
    private readonly UpstreamLimits _limits;
    private readonly Dictionary<ulong, AppQueue> _apps = new();
    private readonly Queue<AppQueue> _turns = new();
    private int _inFlight;

    public UpstreamQueues(UpstreamLimits limits) => _limits = limits;

    /// <summary>Bytes of the requests waiting here, all applications together.</summary>
    private long QueuedBytes { get; set; }

    /// <summary>
    /// Takes <paramref name="item"/> of <paramref name="app"/>: true if it may go now (a slot is
    /// taken when it wants a reply); false if it waits; null with <paramref name="refusal"/> if
    /// the queued bytes would pass a limit.
    /// </summary>
    public bool? Enter(ulong app, UpstreamItem item, out string? refusal)
    {
        refusal = null;
        var queue = Of(app);
        if (queue.Waiting.Count == 0 && (!item.WantsReply || HasSlot(queue)))
        {
            if (item.WantsReply) Take(queue);
            return true;
        }
        // Requests that release something (closes, cleanup) always queue: refusing them would leak.
        if (item.WantsReply && !item.Releases)
        {
            if (queue.QueuedBytes + item.Bytes > _limits.MaxQueuedBytesPerApplication)
                refusal = $"{OpTable.NameOf(item.Request.Op)}: this application already has {queue.QueuedBytes} bytes of requests waiting for the host; {UpstreamLimits.Keys.MaxQueuedBytesPerApplication} = {_limits.MaxQueuedBytesPerApplication}; try again";
            else if (QueuedBytes + item.Bytes > _limits.MaxQueuedBytes)
                refusal = $"{OpTable.NameOf(item.Request.Op)}: the proxy's applications already have {QueuedBytes} bytes of requests waiting for the host; {UpstreamLimits.Keys.MaxQueuedBytes} = {_limits.MaxQueuedBytes}; try again";
            if (refusal != null)
            {
                Forget(queue);
                return null;
            }
        }
        queue.Waiting.Enqueue(item);
        queue.QueuedBytes += item.Bytes;
        QueuedBytes += item.Bytes;
        if (!queue.InTurn)
        {
            queue.InTurn = true;
            _turns.Enqueue(queue);
        }
        return false;
    }

    /// <summary>A reply for <paramref name="app"/> came: its slot is free again.</summary>
    public void Answered(ulong app)
    {
        if (!_apps.TryGetValue(app, out var queue)) return;
        queue.InFlight--;
        _inFlight--;
        Forget(queue);
    }

    /// <summary>
    /// The next requests that may go, in turn: one from each waiting application with a free
    /// slot, round after round, until the window is full or nobody can send.
    /// </summary>
    public IEnumerable<(ulong App, UpstreamItem Item)> Next()
    {
        int skipped = 0;
        while (_turns.Count > 0 && skipped < _turns.Count)
        {
            var queue = _turns.Peek();
            var head = queue.Waiting.Peek();
            if (head.WantsReply && !HasSlot(queue))
            {
                // Its share is used up (or the window is full): the next application's turn.
                _turns.Enqueue(_turns.Dequeue());
                skipped++;
                if (_inFlight >= _limits.Window) yield break;
                continue;
            }
            skipped = 0;
            _turns.Dequeue();
            // An application's cleanup goes with the request before it, taking no slot.
            do
            {
                var item = queue.Waiting.Dequeue();
                queue.QueuedBytes -= item.Bytes;
                QueuedBytes -= item.Bytes;
                if (item.WantsReply) Take(queue);
                yield return (queue.App, item);
            }
            while (queue.Waiting.Count > 0 && !queue.Waiting.Peek().WantsReply);
            if (queue.Waiting.Count > 0) _turns.Enqueue(queue);
            else
            {
                queue.InTurn = false;
                Forget(queue);
            }
        }
    }

    /// <summary>Everything still waiting, removed (the host link is gone).</summary>
    public List<UpstreamItem> Drain()
    {
        var all = _apps.Values.SelectMany(q => q.Waiting).ToList();
        _apps.Clear();
        _turns.Clear();
        (QueuedBytes, _inFlight) = (0, 0);
        return all;
    }

    private bool HasSlot(AppQueue queue) => queue.InFlight < _limits.InFlightPerApplication && _inFlight < _limits.Window;

    private void Take(AppQueue queue)
    {
        queue.InFlight++;
        _inFlight++;
    }

    private AppQueue Of(ulong app)
    {
        if (!_apps.TryGetValue(app, out var queue)) _apps[app] = queue = new AppQueue(app);
        return queue;
    }

    /// <summary>An application with nothing in flight and nothing waiting leaves the table.</summary>
    private void Forget(AppQueue queue)
    {
        if (queue.InFlight == 0 && queue.Waiting.Count == 0) _apps.Remove(queue.App);
    }

    private sealed class AppQueue(ulong app)
    {
        public ulong App { get; } = app;
        public Queue<UpstreamItem> Waiting { get; } = new();
        public long QueuedBytes { get; set; }
        public int InFlight { get; set; }
        public bool InTurn { get; set; }
    }
}
