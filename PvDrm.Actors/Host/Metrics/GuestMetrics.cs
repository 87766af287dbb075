using PvDrm.Protocol;
using PvDrm.Native.Interop;
using Prometheus;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// One guest's request series: children looked up on first use of each operation and status,
/// then kept, so recording a request is two array reads and two atomic adds.
/// </summary>
internal sealed class GuestMetrics
{
    private const int OpSlots = 0x100; // op codes are below 0x100
    private readonly HostMetrics _metrics;
    private readonly string _guest;
    private readonly Counter.Child?[] _ok = new Counter.Child?[OpSlots];
    private readonly Histogram.Child?[] _latency = new Histogram.Child?[OpSlots];
    private readonly Dictionary<(Op, int), Counter.Child> _failed = new();

    public GuestMetrics(HostMetrics metrics, string guest) => (_metrics, _guest) = (metrics, guest);

    public void Record(Op op, int status, long receivedAt)
    {
        int i = (int)op;
        if ((uint)i >= (uint)_ok.Length) return;
        (_latency[i] ??= _metrics.Latency.WithLabels(_guest, OpTable.NameOf(op)))
            .Observe(System.Diagnostics.Stopwatch.GetElapsedTime(receivedAt).TotalSeconds);
        if (status == 0)
        {
            (_ok[i] ??= _metrics.Requests.WithLabels(_guest, OpTable.NameOf(op), "ok")).Inc();
            return;
        }
        Counter.Child? failed;
        lock (_failed)
            if (!_failed.TryGetValue((op, status), out failed))
                _failed[(op, status)] = failed = _metrics.Requests.WithLabels(_guest, OpTable.NameOf(op), Errno.Name(-status));
        failed.Inc();
    }

    public void Forget()
    {
        var series = new List<(Op, string)>();
        for (int i = 0; i < _ok.Length; i++)
            if (_ok[i] != null || _latency[i] != null) series.Add(((Op)i, "ok"));
        lock (_failed)
            series.AddRange(_failed.Keys.Select(k => (k.Item1, Errno.Name(-k.Item2))));
        _metrics.Forget(_guest, series);
    }
}
