using System.Net;
using PvDrm.Actors.Host.Control;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Interop;
using Prometheus;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// The host's Prometheus endpoint (<c>pvdrm.host.metrics.listen</c>, off by default). Request
/// counts and latencies are recorded as requests complete, through a <see cref="GuestMetrics"/>
/// per guest; everything else (guests, memory, quota use, the device, the mode) is read from the
/// same snapshot as <c>pvdrm-host status</c> when Prometheus scrapes, so idle hosts cost nothing.
/// </summary>
public sealed class HostMetrics : IDisposable
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly HashSet<string> _guestsShown = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _deviceShown = new(StringComparer.Ordinal); // guest -> device label shown
    private readonly object _scrapeLock = new();
    private IMetricServer? _server;

    public HostMetrics()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(_registry);
        Requests = factory.CreateCounter("pvdrm_requests_total",
            "Requests answered, by guest, operation and status (ok or an errno name).", ["guest", "op", "status"]);
        Latency = factory.CreateHistogram("pvdrm_request_duration_seconds",
            "Time from decoding a request to its reply, by guest and operation.", ["guest", "op"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.000_005, 2, 20) }); // 5 µs .. 2.6 s
        Mode = factory.CreateGauge("pvdrm_sequential", "1 when every request passes through the sequential gate.");
        Guests = factory.CreateGauge("pvdrm_guests", "Guests connected.");
        Admitted = factory.CreateGauge("pvdrm_guests_admitted", "Guests admitted since the host started (a counter).");
        Device = factory.CreateGauge("pvdrm_device", "Per device: live buffers, bytes and channels, pushbufs running, memory_bytes, guests.", ["device", "what"]);
        GuestDevice = factory.CreateGauge("pvdrm_guest_device", "1 for the device each guest is attached to (none: no device).", ["guest", "device"]);
        Guest = factory.CreateGauge("pvdrm_guest",
            "Per guest: contexts, objects, memory_bytes, mapped_bytes, channels, queued_pushbufs, in_flight.", ["guest", "what"]);
        Limit = factory.CreateGauge("pvdrm_limit", "Per-guest limits (pvdrm.host.limits), for quota use ratios.", ["limit"]);
    }

    internal Counter Requests { get; }

    internal Histogram Latency { get; }

    private Gauge Mode { get; }

    private Gauge Guests { get; }

    private Gauge Admitted { get; }

    private Gauge Device { get; }

    private Gauge Guest { get; }

    private Gauge GuestDevice { get; }

    private Gauge Limit { get; }

    /// <summary>The address it serves, once started: http://ADDR:PORT/metrics.</summary>
    public string? Url { get; private set; }

    /// <summary>Serves <c>/metrics</c> on <paramref name="listen"/> (ADDR:PORT; port 0 picks a free one).</summary>
    public void Start(string listen, HostSettings settings, Func<CancellationToken, Task<ControlProtocol.HostStatus>> snapshot)
    {
        var endpoint = IPEndPoint.Parse(listen); // checked with the settings
        foreach (var (name, value) in new (string, double)[]
        {
            ("memory-per-guest", settings.MemoryPerGuest), ("contexts-per-guest", settings.ContextsPerGuest),
            ("channels-per-guest", settings.ChannelsPerGuest), ("in-flight-per-guest", settings.InFlightPerGuest),
            ("queued-pushbufs-per-guest", settings.QueuedPushbufsPerGuest), ("handles-per-context", settings.HandlesPerContext),
        })
            Limit.WithLabels(name).Set(value);
        _registry.AddBeforeCollectCallback(async ct => Show(await snapshot(ct)));
        if (endpoint.Port == 0) endpoint.Port = FreePort(endpoint.Address);
        string host = endpoint.Address.Equals(IPAddress.Any) ? "+" : endpoint.Address.ToString();
        _server = new MetricServer(host, endpoint.Port, "metrics/", _registry).Start();
        Url = $"http://{endpoint}/metrics";
    }

    /// <summary>A guest's request counters, looked up once per operation rather than per request.</summary>
    internal GuestMetrics ForGuest(string name) => new(this, name);

    /// <summary>Forgets a departed guest's series.</summary>
    internal void Forget(string guest, IEnumerable<(Op Op, string Status)> requestSeries)
    {
        foreach (var (op, status) in requestSeries) Requests.RemoveLabelled(guest, OpTable.NameOf(op), status);
        foreach (var op in requestSeries.Select(s => s.Op).Distinct()) Latency.RemoveLabelled(guest, OpTable.NameOf(op));
    }

    private void Show(ControlProtocol.HostStatus status)
    {
        lock (_scrapeLock)
        {
            Mode.Set(status.Mode == "sequential" ? 1 : 0);
            Guests.Set(status.Guests.Count);
            Admitted.Set(status.Totals.GuestsAdmitted);
            foreach (var d in status.Devices)
            {
                Device.WithLabels(d.Name, "buffers").Set(d.LiveBuffers);
                Device.WithLabels(d.Name, "bytes").Set(d.LiveBytes);
                Device.WithLabels(d.Name, "channels").Set(d.LiveChannels);
                Device.WithLabels(d.Name, "running").Set(d.Running);
                Device.WithLabels(d.Name, "memory_bytes").Set(d.MemoryBytes);
                Device.WithLabels(d.Name, "guests").Set(d.Guests.Count);
            }
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var g in status.Guests)
            {
                present.Add(g.Name);
                Guest.WithLabels(g.Name, "contexts").Set(g.Contexts);
                Guest.WithLabels(g.Name, "objects").Set(g.Objects);
                Guest.WithLabels(g.Name, "memory_bytes").Set(g.Bytes);
                Guest.WithLabels(g.Name, "mapped_bytes").Set(g.MappedBytes);
                Guest.WithLabels(g.Name, "channels").Set(g.Channels);
                Guest.WithLabels(g.Name, "queued_pushbufs").Set(g.QueuedPushbufs);
                Guest.WithLabels(g.Name, "in_flight").Set(g.InFlight);
                string device = g.Device ?? "none";
                if (_deviceShown.TryGetValue(g.Name, out var was) && was != device) GuestDevice.RemoveLabelled(g.Name, was);
                GuestDevice.WithLabels(g.Name, device).Set(1);
                _deviceShown[g.Name] = device;
            }
            foreach (var gone in _guestsShown.Where(n => !present.Contains(n)).ToList())
            {
                foreach (var what in GuestSeries) Guest.RemoveLabelled(gone, what);
                if (_deviceShown.Remove(gone, out var device)) GuestDevice.RemoveLabelled(gone, device);
                _guestsShown.Remove(gone);
            }
            _guestsShown.UnionWith(present);
        }
    }

    private static readonly string[] GuestSeries = ["contexts", "objects", "memory_bytes", "mapped_bytes", "channels", "queued_pushbufs", "in_flight"];

    private static int FreePort(IPAddress address)
    {
        using var probe = new System.Net.Sockets.TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose() => _server?.Dispose();
}

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
