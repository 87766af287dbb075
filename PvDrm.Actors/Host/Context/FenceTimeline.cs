using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Host.Context;

/// <summary>
/// A context's fences in issue order: numbers them, knows which are still pending and which of
/// the recent ones failed, and holds FENCE_WAITs until their fence signals or their timer fires.
/// Owned by one context actor and touched only on its thread; signals reach it as
/// <see cref="ContextProtocol.FenceSignaled"/>.
/// </summary>
internal sealed class FenceTimeline
{
    /// <summary>How many failed fences a FENCE_WAIT that comes late can still learn the error of.</summary>
    private const int RememberedFailures = 256;

    private readonly uint _context;
    private readonly Dictionary<ulong, GpuFence> _pending = new();
    private readonly Dictionary<ulong, GpuFence> _failed = new();
    private readonly Queue<ulong> _failedOrder = new();
    private readonly Dictionary<long, (FenceWait Request, ulong Fence)> _waiters = new();
    private ulong _last;
    private long _nextWaiter;

    public FenceTimeline(uint context) => _context = context;

    /// <summary>
    /// The next fence. Every PUSHBUF takes one, even one that fails, so a guest that batches
    /// reply-less submissions can still name their fences; <paramref name="owner"/> hears when it signals.
    /// </summary>
    public GpuFence Issue(IActorRef owner)
    {
        var fence = new GpuFence(++_last);
        _pending[fence.Seqno] = fence;
        fence.OnSignaled(f => owner.Tell(new ContextProtocol.FenceSignaled(f.Seqno, f)));
        return fence;
    }

    /// <summary>FENCE_WAIT: answered now when it can be, else held until its fence signals or <paramref name="timeout"/> passes.</summary>
    public void Wait(FenceWait r, ITimerScheduler timers, TimeSpan timeout)
    {
        if (r.Fence == 0 || r.Fence > _last)
        {
            r.Fail(Errno.ENOENT, $"FENCE_WAIT: fence {r.Fence} was never issued in context {_context} (last is {_last})");
            return;
        }
        if (!_pending.ContainsKey(r.Fence))
        {
            ReplyWithOutcome(r, r.Fence);
            return;
        }
        if ((r.WaitFlags & FenceWaitFlags.NoWait) != 0)
        {
            r.Fail(Errno.EBUSY, $"FENCE_WAIT: fence {r.Fence} has not signalled yet");
            return;
        }
        long id = ++_nextWaiter;
        _waiters[id] = (r, r.Fence);
        timers.StartSingleTimer(id, new ContextProtocol.WaitTimedOut(id), timeout);
    }

    /// <summary>The fence signalled: remembered if it failed, and its waiters answered.</summary>
    public void Signaled(ContextProtocol.FenceSignaled s, ITimerScheduler timers)
    {
        _pending.Remove(s.Number);
        if (s.Fence.Error != 0)
        {
            _failed[s.Number] = s.Fence;
            _failedOrder.Enqueue(s.Number);
            if (_failedOrder.Count > RememberedFailures) _failed.Remove(_failedOrder.Dequeue());
        }
        List<long>? done = null;
        foreach (var (id, w) in _waiters)
            if (w.Fence == s.Number) (done ??= new()).Add(id);
        if (done == null) return;
        foreach (long id in done)
        {
            _waiters.Remove(id, out var w);
            timers.Cancel(id);
            ReplyWithOutcome(w.Request, s.Number);
        }
    }

    public void TimedOut(ContextProtocol.WaitTimedOut t)
    {
        if (_waiters.Remove(t.Waiter, out var w))
            w.Request.Fail(Errno.ETIMEDOUT, $"FENCE_WAIT: fence {w.Fence} did not signal in time");
    }

    /// <summary>The context closed: every wait still held is answered ECANCELED.</summary>
    public void CancelWaits()
    {
        foreach (var (_, w) in _waiters)
            w.Request.Fail(Errno.ECANCELED, $"FENCE_WAIT: context {_context} was closed");
        _waiters.Clear();
    }

    private void ReplyWithOutcome(FenceWait r, ulong number)
    {
        if (_failed.TryGetValue(number, out var failed))
            r.Fail(failed.Error, $"FENCE_WAIT: fence {number} failed: {failed.Message}");
        else r.Reply();
    }
}
