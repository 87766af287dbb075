using Akka.Event;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// Logs a guest's refused requests with its name, at most <see cref="PerWindow"/> per window;
/// the rest are counted and summed up in one line when the next window opens. A guest decides
/// how often it is refused, so it must not decide how much the host logs.
/// </summary>
internal sealed class RefusalLog
{
    public const int PerWindow = 10;
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly ILoggingAdapter _log;
    private readonly object _lock = new();
    private DateTime _windowStart = DateTime.MinValue;
    private int _logged;
    private long _suppressed;

    public RefusalLog(ILoggingAdapter log) => _log = log;

    public void Refused(string guest, Op op, uint context, int errno, string message)
    {
        long suppressedBefore = 0;
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            if (now - _windowStart >= Window)
            {
                (suppressedBefore, _suppressed, _logged, _windowStart) = (_suppressed, 0, 0, now);
            }
            if (_logged >= PerWindow)
            {
                _suppressed++;
                return;
            }
            _logged++;
        }
        if (suppressedBefore > 0)
            _log.Info("guest {Guest}: {Suppressed} more refused requests were not logged in the last {WindowSeconds} s", guest, suppressedBefore, (int)Window.TotalSeconds);
        _log.Info("guest {Guest}: {Op} in context {Context} refused with {Errno}: {Reason}", guest, OpTable.NameOf(op), context, Errno.Name(errno), message);
    }
}
