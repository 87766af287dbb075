using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// What queued work may cost the host: the command bytes of pushbufs queued or running, per
/// owner and for the whole device, charged before a pushbuf is queued and returned when its
/// fence signals. Commands are kept as their words, so these bytes are what the work weighs.
/// </summary>
internal sealed class SoftCommandBudget
{
    private readonly object _lock = new();
    private readonly SoftGpu _device;
    private long _bytes;

    public SoftCommandBudget(SoftGpu device) => _device = device;

    /// <summary>Command bytes queued or running on this device, all owners together.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock) return _bytes;
        }
    }

    /// <summary>Charges a pushbuf's commands, or refuses it with EAGAIN naming the limit.</summary>
    public void Charge(SoftOwner owner, long bytes)
    {
        var options = _device.Options;
        lock (_lock)
        {
            if (owner.QueuedBytes + bytes > options.MaxQueuedCommandBytesPerOwner)
                ErrnoException.Throw(Errno.EAGAIN, $"{_device.Name}: {owner.QueuedBytes} bytes of this guest's commands are queued; {bytes} more would exceed soft-gpu.max-queued-commands-per-guest ({options.MaxQueuedCommandBytesPerOwner} bytes)");
            if (_bytes + bytes > options.MaxQueuedCommandBytes)
                ErrnoException.Throw(Errno.EAGAIN, $"{_device.Name}: {_bytes} bytes of commands are queued; {bytes} more would exceed soft-gpu.max-queued-commands ({options.MaxQueuedCommandBytes} bytes)");
            owner.QueuedBytes += bytes;
            _bytes += bytes;
        }
    }

    public void Discharge(SoftOwner owner, long bytes)
    {
        lock (_lock)
        {
            owner.QueuedBytes -= bytes;
            _bytes -= bytes;
        }
    }
}
