using System.Buffers;
using Akka.Actor;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Actors.Protocol.Requests;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>ctx-&lt;id&gt;/gem-&lt;h&gt;</c>: one GEM object. Holds one reference on the device buffer,
/// the fences of submissions that use it, and the CPU_PREP waiters. Waiting never blocks a
/// thread: fences tell this actor when they signal, and a timer bounds every wait. An untyped
/// actor with few fields, since a guest may hold many thousands of these.
/// </summary>
internal sealed class GemActor : UntypedActor, IWithTimers
{
    private readonly GuestSession _session;
    private readonly uint _handle;
    private readonly HostGem _gem;
    private readonly IGpuBuffer _buffer;
    private List<GpuFence>? _busy;
    private List<(long Id, CpuPrep Request, GpuFence[] Fences)>? _waiters;
    private long _nextWaiter;
    private bool _released, _handedOut;

    /// <param name="gem">The object this handle names; this actor owns one of its handles.</param>
    public GemActor(GuestSession session, uint handle, HostGem gem)
    {
        _session = session;
        _handle = handle;
        _gem = gem;
        _buffer = gem.Buffer;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(GuestSession session, uint handle, HostGem gem) =>
        Akka.Actor.Props.Create(() => new GemActor(session, handle, gem));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case GemInfo r:
                r.Reply(new Replies.GemInfo(_handle, _buffer.Domain, _buffer.Size, MapOffset.Of(_handle)));
                break;
            case GemMap or PrimeExport:
                HandOut((Request)message);
                break;
            case GemExport r:
                r.Reply(new Replies.Name(_session.Gems.Export(_gem)));
                break;
            case GemRead r:
                Read(r);
                break;
            case GemWrite r:
                if (CheckRange(r, r.Offset, (ulong)r.Data.Length))
                {
                    _buffer.Write(r.Offset, r.Data.Span);
                    r.Reply();
                }
                break;
            case CpuPrep r:
                Prep(r);
                break;
            case CpuFini r:
                // Buffers are coherent host memory: nothing to flush. Kept for the DRM call sequence.
                r.Reply();
                break;
            case GemProtocol.Fenced f:
                (_busy ??= new()).Add(f.Fence);
                var self = Self;
                f.Fence.OnSignaled(fence => self.Tell(new GemProtocol.FenceRetired(fence)));
                break;
            case GemProtocol.FenceRetired f:
                _busy?.Remove(f.Fence);
                WakeWaiters();
                break;
            case GemProtocol.PrepTimedOut t:
                int index = _waiters?.FindIndex(w => w.Id == t.Waiter) ?? -1;
                if (index >= 0)
                {
                    var w = _waiters![index];
                    _waiters.RemoveAt(index);
                    w.Request.Fail(Errno.ETIMEDOUT, $"CPU_PREP: handle {_handle} is still in use by the GPU");
                }
                break;
            case GemProtocol.Close c:
                // Release before answering: once GEM_CLOSE returns, the guest may use the quota again.
                Release();
                c.Request.Reply();
                Context.Stop(Self);
                break;
            case Request r:
                r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)} is not a GEM object operation");
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// Answers GEM_MAP and PRIME_EXPORT with the buffer's descriptor: SCM_RIGHTS duplicates it into
    /// the guest, which maps these very pages. The file is remembered, so the descriptor coming back
    /// in a PRIME_IMPORT finds this object. A real device exports its dma-buf on first use, which can fail.
    /// </summary>
    private void HandOut(Request r)
    {
        try
        {
            var fd = _buffer.Fd;
            _session.Gems.Remember(_gem);
            if (!_handedOut)
            {
                _handedOut = true;
                _session.Mapped(_buffer.Size);
            }
            r.Reply(new Replies.GemMap(_buffer.Size, MapOffset.Of(_handle)), fd);
        }
        catch (ErrnoException e)
        {
            r.Fail(e.Errno, $"{OpTable.NameOf(r.Op)}: handle {_handle} cannot be handed out: {e.Message}");
        }
    }

    private void Read(GemRead r)
    {
        int max = _session.Link.MaxReplyPayload;
        if (r.Length > max)
        {
            r.Fail(Errno.E2BIG, $"GEM_READ: {r.Length} bytes exceed the {max}-byte chunk a reply can carry; read in chunks");
            return;
        }
        if (!CheckRange(r, r.Offset, r.Length)) return;
        byte[] data = ArrayPool<byte>.Shared.Rent((int)r.Length);
        try
        {
            _buffer.Read(r.Offset, data.AsSpan(0, (int)r.Length));
            r.ReplyBytes(data.AsSpan(0, (int)r.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private bool CheckRange(Request r, ulong offset, ulong length)
    {
        if (offset <= _buffer.Size && length <= _buffer.Size - offset) return true;
        r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: range [{offset}, +{length}) is outside handle {_handle} ({_buffer.Size} bytes)");
        return false;
    }

    private void Prep(CpuPrep r)
    {
        _busy?.RemoveAll(f => f.IsSignaled);
        if (_busy is not { Count: > 0 })
        {
            r.Reply();
            return;
        }
        if ((r.PrepFlags & CpuPrepFlags.NoWait) != 0)
        {
            r.Fail(Errno.EBUSY, $"CPU_PREP: handle {_handle} is in use by {_busy.Count} pending submission(s)");
            return;
        }
        // Wait for the work submitted so far, not for work submitted after this request.
        long id = ++_nextWaiter;
        (_waiters ??= new()).Add((id, r, _busy.ToArray()));
        Timers.StartSingleTimer(id, new GemProtocol.PrepTimedOut(id), Timeouts.For(r.TimeoutNs, _session.Settings));
    }

    private void WakeWaiters()
    {
        if (_waiters == null) return;
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            var w = _waiters[i];
            if (!Array.TrueForAll(w.Fences, f => f.IsSignaled)) continue;
            _waiters.RemoveAt(i);
            Timers.Cancel(w.Id);
            w.Request.Reply();
        }
    }

    protected override void PostStop()
    {
        if (_waiters != null)
            foreach (var w in _waiters)
                w.Request.Fail(Errno.ECANCELED, $"CPU_PREP: handle {_handle} was closed while waiting");
        Release();
    }

    /// <summary>
    /// Gives up this handle's reference, once. In-flight submissions and other handles hold their
    /// own references: the memory goes when the last one does.
    /// </summary>
    private void Release()
    {
        if (_released) return;
        _released = true;
        if (_handedOut) _session.Unmapped(_buffer.Size);
        _gem.ReleaseHandle();
    }
}
