using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A SoftGpu channel: a FIFO of submissions, run one at a time, in order, by whichever engine
/// takes the channel next.
/// </summary>
internal sealed class SoftChannel : IGpuChannel
{
    private readonly SoftGpu _device;
    private readonly object _lock = new();
    private readonly Queue<SoftSubmission> _queue = new();
    private ulong _lastSeqno;
    private bool _scheduled; // in the engines' run queue or running
    private volatile bool _disposed;

    public SoftChannel(SoftGpu device, string owner)
    {
        _device = device;
        Owner = device.Engines.Join(owner);
    }

    /// <summary>Whose channel this is, for sharing the engines fairly.</summary>
    internal SoftOwner Owner { get; }

    /// <summary>True once closed: a running pushbuf stops at its next command (see <see cref="SoftExecutor"/>).</summary>
    public bool IsClosed => _disposed;

    public GpuFence Submit(Pushbuf pushbuf)
    {
        var buffers = new SoftBuffer[pushbuf.Buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
            buffers[i] = pushbuf.Buffers[i] as SoftBuffer
                ?? throw new ErrnoException(Errno.EINVAL, $"pushbuf: buffer {i} does not belong to SoftGpu {_device.Name}");

        // Copy first, then validate and run only the copy: the guest may keep writing its command buffer.
        byte[] stream = Gather(pushbuf);
        var commands = SoftCommandDecoder.Decode(stream, pushbuf.Buffers, pushbuf.Access);

        lock (_lock)
        {
            if (_disposed) ErrnoException.Throw(Errno.ENODEV, "channel is closed");
            foreach (var b in buffers) b.AddRef();
            var submission = new SoftSubmission(buffers, commands, new GpuFence(++_lastSeqno));
            _queue.Enqueue(submission);
            _device.OnSubmitted();
            if (!_scheduled)
            {
                _scheduled = true;
                _device.Engines.Schedule(this);
            }
            return submission.Fence;
        }
    }

    private byte[] Gather(Pushbuf pushbuf)
    {
        ulong total = 0;
        foreach (var p in pushbuf.Push)
        {
            ulong size = p.BufferIndex == PushEntry.InlineIndex ? (ulong)pushbuf.Inline.Length : p.BufferIndex < (uint)pushbuf.Buffers.Length ? pushbuf.Buffers[p.BufferIndex].Size : 0;
            string where = p.BufferIndex == PushEntry.InlineIndex ? "the inline block" : $"buffer {p.BufferIndex}";
            if (p.BufferIndex != PushEntry.InlineIndex && p.BufferIndex >= (uint)pushbuf.Buffers.Length)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry names buffer {p.BufferIndex}, but the pushbuf lists {pushbuf.Buffers.Length}");
            if (p.Offset > size || p.Length > size - p.Offset)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry [{p.Offset}, +{p.Length}) exceeds {where} ({size} bytes)");
            if (p.Length % 4 != 0 || p.Offset % 4 != 0)
                ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry [{p.Offset}, +{p.Length}) is not word aligned");
            total += p.Length;
            if (total > (ulong)_device.Options.MaxCommandBytes)
                ErrnoException.Throw(Errno.E2BIG, $"pushbuf: more than {_device.Options.MaxCommandBytes} bytes of commands");
        }

        var stream = new byte[total];
        int at = 0;
        foreach (var p in pushbuf.Push)
        {
            var destination = stream.AsSpan(at, (int)p.Length);
            if (p.BufferIndex == PushEntry.InlineIndex) pushbuf.Inline.Span.Slice((int)p.Offset, (int)p.Length).CopyTo(destination);
            else pushbuf.Buffers[p.BufferIndex].Read(p.Offset, destination);
            at += (int)p.Length;
        }
        return stream;
    }

    /// <summary>Engine side: the next submission, or null (the channel then leaves the run queue).</summary>
    internal SoftSubmission? TakeNext()
    {
        lock (_lock)
        {
            if (_disposed || _queue.Count == 0)
            {
                _scheduled = false;
                return null;
            }
            return _queue.Dequeue();
        }
    }

    /// <summary>Engine side, after a submission ran: back in the run queue if more is waiting.</summary>
    internal bool HasMore()
    {
        lock (_lock)
        {
            if (!_disposed && _queue.Count > 0) return true;
            _scheduled = false;
            return false;
        }
    }

    public void Dispose()
    {
        SoftSubmission[] cancelled;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            cancelled = _queue.ToArray();
            _queue.Clear();
        }
        foreach (var s in cancelled)
        {
            s.Finish(Errno.ECANCELED, "channel closed before the pushbuf ran");
            _device.OnCompleted();
        }
        _device.Engines.Leave(Owner);
        _device.OnChannelClosed();
    }
}
