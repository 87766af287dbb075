using System.Buffers;
using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Gem;

/// <summary>
/// <c>ctx-&lt;id&gt;/gem-&lt;h&gt;</c>: one GEM object. Holds one reference on the device buffer,
/// the fences of submissions that use it, and the CPU_PREP waiters. Waiting never blocks a
/// thread: fences tell this actor when they signal, and a timer bounds every wait.
/// A guest may hold 100k of these, so an idle one costs little: an untyped actor with few
/// fields, props that are one small object (<see cref="GemProps"/>), a mailbox with no storage
/// until used (<see cref="GemMailbox"/>), and no timer scheduler (waits are rare and schedule
/// their own timeout).
///
/// Lifecycle: <see cref="Alive"/> until GEM_CLOSE, then <see cref="Releasing"/>: what was already
/// queued behind the close is refused with EBADF and never reaches the buffer, then the actor
/// stops. <see cref="PostStop"/> (also reached when the context stops) gives the handle back and
/// only then answers the GEM_CLOSE, so a guest whose close returned can use the quota again.
/// </summary>
internal sealed class GemActor : UntypedActor
{
    private readonly GuestSession _session;
    private readonly HostGem _gem;
    private readonly uint _handle;
    private bool _handedOut; // the guest was given the pages: their bytes count in its mapped total until release
    private Request? _closedBy; // the GEM_CLOSE answered once PostStop has released the handle
    private List<GpuFence>? _busy;
    private List<Waiter>? _waiters;
    private GemCopies? _copies; // made by the first copy that leaves the I/O loop

    /// <summary>A CPU_PREP waiting for the fences that were pending when it came.</summary>
    private sealed class Waiter(CpuPrep request, GpuFence[] fences)
    {
        public CpuPrep Request { get; } = request;

        public GpuFence[] Fences { get; } = fences;

        public ICancelable? Timeout { get; set; }
    }

    /// <param name="gem">The object this handle names; this actor owns one of its handles.</param>
    public GemActor(GuestSession session, uint handle, HostGem gem)
    {
        _session = session;
        _handle = handle;
        _gem = gem;
    }

    /// <summary>The parent must have called <see cref="GemMailbox.EnsureConfigured"/> on its actor system.</summary>
    public static Props Props(GuestSession session, uint handle, HostGem gem) => new GemProps(s_template, session, handle, gem);

    private static readonly Props s_template = Akka.Actor.Props.Create(typeof(GemActor)).WithMailbox(GemMailbox.Id);

    /// <summary>
    /// Props that make a GEM actor from three fields. The cell keeps its props for the actor's
    /// life; Akka's own would keep an argument array, a boxed handle and a producer per object.
    /// </summary>
    private sealed class GemProps : Props
    {
        private readonly GuestSession _session;
        private readonly HostGem _gem;
        private readonly uint _handle;

        public GemProps(Props template, GuestSession session, uint handle, HostGem gem) : base(template)
        {
            (_session, _handle, _gem) = (session, handle, gem);
        }

#pragma warning disable AK1000 // this is the Props that Akka asks for the instance
        public override ActorBase NewActor() => new GemActor(_session, _handle, _gem);
#pragma warning restore AK1000

        protected override Props Copy() => new GemProps(this, _session, _handle, _gem);
    }

    private IGpuBuffer Buffer => _gem.Buffer;

    protected override void OnReceive(object message) => Alive(message);

    private void Alive(object message)
    {
        switch (message)
        {
            case GemInfo r:
                r.Reply(new Replies.GemInfo(_handle, Buffer.Domain, Buffer.Size, MapOffset.Of(_handle)));
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
                if (CheckRange(r, r.Offset, (ulong)r.Data.Length) && ChargeDescriptor(r)) Copy(r, (ulong)r.Data.Length, s_write);
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
            case GemProtocol.PrepTimedOut { Waiter: Waiter w }:
                if (_waiters?.Remove(w) == true)
                    w.Request.Fail(Errno.ETIMEDOUT, $"CPU_PREP: handle {_handle} is still in use by the GPU");
                break;
            case GemProtocol.Close c:
                _closedBy = c.Request;
                Become(Releasing);
                Self.Tell(PoisonPill.Instance); // behind what is already queued, which Releasing refuses
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
    /// Closed, stopping: requests get EBADF without touching the buffer, whose reference this
    /// handle gives up in <see cref="PostStop"/>. Fences and timeouts need nothing: a pushbuf holds
    /// its own reference, and the waiters are cancelled at the stop.
    /// </summary>
    private void Releasing(object message)
    {
        switch (message)
        {
            case Request r:
                r.Fail(Errno.EBADF, $"{OpTable.NameOf(r.Op)}: handle {_handle} is being closed (GEM_CLOSE came first)");
                break;
            case GemProtocol.Close c:
                // A second close of the same handle cannot come from the context; refuse it rather than lose the first.
                c.Request.Fail(Errno.EBADF, $"GEM_CLOSE: handle {_handle} is already being closed");
                break;
            case GemProtocol.Fenced or GemProtocol.FenceRetired or GemProtocol.PrepTimedOut:
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
        if (Buffer.RegionOffset is { } at)
        {
            // The descriptor would be the whole region: the guest maps its range of the region instead.
            if (r is GemMap) r.Reply(new Replies.GemMap(Buffer.Size, MapOffset.Of(_handle), at));
            else r.Fail(Errno.EOPNOTSUPP, $"{OpTable.NameOf(r.Op)}: handle {_handle} lies in guest {_session.Name}'s shared region " +
                $"({HostSettings.Root}.guests.{_session.Name}.shared-memory), which is never passed as a descriptor; map it with GEM_MAP");
            return;
        }
        if (!ChargeDescriptor(r)) return;
        try
        {
            var fd = Buffer.Fd;
            _session.Gems.Remember(_gem);
            if (!_handedOut)
            {
                _handedOut = true;
                _session.Mapped(Buffer.Size);
            }
            r.Reply(new Replies.GemMap(Buffer.Size, MapOffset.Of(_handle)), fd);
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
        if (CheckRange(r, r.Offset, r.Length)) Copy(r, r.Length, s_read);
    }

    private static readonly Action<IGpuBuffer, Request> s_read = static (buffer, request) =>
    {
        var r = (GemRead)request;
        byte[] data = ArrayPool<byte>.Shared.Rent((int)r.Length);
        try
        {
            buffer.Read(r.Offset, data.AsSpan(0, (int)r.Length));
            r.ReplyBytes(data.AsSpan(0, (int)r.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    };

    private static readonly Action<IGpuBuffer, Request> s_write = static (buffer, request) =>
    {
        var r = (GemWrite)request;
        buffer.Write(r.Offset, r.Data.Span);
        r.Reply();
    };

    /// <summary>A GEM_READ or GEM_WRITE copy: here, or off the I/O loop when it is large (<see cref="GemCopies"/>).</summary>
    private void Copy(Request r, ulong length, Action<IGpuBuffer, Request> copy)
    {
        if (GemCopies.RunsHere(_copies, length)) copy(Buffer, r);
        else (_copies ??= new()).Run(r, Buffer, $"handle {_handle}", copy);
    }

    /// <summary>Charges the owner a descriptor before this request makes the object's memory exist.</summary>
    private bool ChargeDescriptor(Request r)
    {
        if (_gem.ChargeDescriptor()) return true;
        r.Fail(Errno.EMFILE, _gem.DescriptorRefusal($"{OpTable.NameOf(r.Op)}: handle {_handle}"));
        return false;
    }

    /// <summary>A host syscall that fails (EMFILE, ENOMEM, EIO...) fails this request only, never the guest's session.</summary>
    protected override bool AroundReceive(Receive receive, object message) =>
        HostCallFailures.Receive(receive, message, _handle, static h => $"handle {h}");

    private bool CheckRange(Request r, ulong offset, ulong length)
    {
        if (offset <= Buffer.Size && length <= Buffer.Size - offset) return true;
        r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: range [{offset}, +{length}) is outside handle {_handle} ({Buffer.Size} bytes)");
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
        var waiter = new Waiter(r, _busy.ToArray());
        (_waiters ??= new()).Add(waiter);
        waiter.Timeout = Context.System.Scheduler.ScheduleTellOnceCancelable(
            Timeouts.For(r.TimeoutNs, _session.Settings), Self, new GemProtocol.PrepTimedOut(waiter), Self);
    }

    private void WakeWaiters()
    {
        if (_waiters == null) return;
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            var w = _waiters[i];
            if (!Array.TrueForAll(w.Fences, f => f.IsSignaled)) continue;
            _waiters.RemoveAt(i);
            w.Timeout?.Cancel();
            w.Request.Reply();
        }
    }

    /// <summary>
    /// Gives up this handle's reference. In-flight submissions and other handles hold their own
    /// references: the memory goes when the last one does.
    /// </summary>
    protected override void PostStop()
    {
        if (_waiters != null)
            foreach (var w in _waiters)
            {
                w.Timeout?.Cancel();
                w.Request.Fail(Errno.ECANCELED, $"CPU_PREP: handle {_handle} was closed while waiting");
            }
        if (_handedOut) _session.Unmapped(Buffer.Size);
        _gem.ReleaseHandle();
        _session.Quota.Handles.Return();
        _closedBy?.Reply();
    }
}
