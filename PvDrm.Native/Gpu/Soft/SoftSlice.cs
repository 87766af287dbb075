using System.Diagnostics;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// One engine's time slice. Running work asks <see cref="ShouldYield"/> at every command and
/// block boundary; the answer is yes at once when the channel was cancelled (closed, or the
/// device shut down), and otherwise only once the slice is used up and other work is waiting
/// for an engine, so a pushbuf alone on the device runs undisturbed.
/// </summary>
internal sealed class SoftSlice
{
    private readonly SoftEngines _engines;
    private readonly long _length;
    private long _started;
    private SoftChannel? _channel;

    public SoftSlice(SoftEngines engines, TimeSpan length)
    {
        _engines = engines;
        _length = Math.Max(1, (long)(length.TotalSeconds * Stopwatch.Frequency));
    }

    public void Start(SoftChannel channel)
    {
        _channel = channel;
        _started = Stopwatch.GetTimestamp();
    }

    public bool ShouldYield()
    {
        if (_channel?.CancelReason != null) return true;
        long now = Stopwatch.GetTimestamp();
        if (now - _started < _length) return false;
        // A new slice either way, so the engines' lock is taken at most once per slice.
        _started = now;
        return _engines.IsWanted();
    }
}
