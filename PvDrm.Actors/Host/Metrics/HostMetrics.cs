using System.Net;
using System.Reflection;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using Prometheus;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// The host's Prometheus endpoint (<c>pvdrm.host.metrics.listen</c>, off by default). Request
/// counts and latencies are recorded as requests complete, through a <see cref="GuestMetrics"/>
/// per guest; everything else (guests, memory, quota use, the device, the mode) is read from the
/// same snapshot as <c>pvdrm-host status</c> when Prometheus scrapes, so idle hosts cost nothing.
/// Names follow Prometheus' conventions: one unit per family, base units in the name, counters
/// ending in <c>_total</c>; the runtime's and process's own families (open descriptors
/// included) sit beside them.
/// </summary>
public sealed class HostMetrics : IDisposable
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly MetricFactory _factory;
    private readonly HashSet<string> _guestsShown = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _deviceShown = new(StringComparer.Ordinal); // guest -> device label shown
    private readonly object _scrapeLock = new();
    private readonly Gauge _mode, _guests;
    private readonly Counter _admitted;
    private readonly Gauge _guestDevice;
    private readonly Counter _guestEngine, _deviceBusy;
    private readonly Gauge _deviceEngines;
    // The device's figure for each guest at the last scrape: it starts again when a guest's last
    // channel closes, so the counter adds what grew since (or all of it, after such a restart).
    private readonly Dictionary<string, double> _engineSeen = new(StringComparer.Ordinal);
    private readonly (Gauge Gauge, Func<ControlProtocol.GuestStatus, double> Value)[] _perGuest;
    private readonly (Gauge Gauge, Func<ControlProtocol.DeviceStatus, double> Value)[] _perDevice;
    private readonly (Counter Counter, Func<ControlProtocol.DeviceStatus, double> Value)[] _perDeviceTotals;
    private MetricsEndpoint? _endpoint;

    public HostMetrics()
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(_registry);
        DotNetStats.Register(_registry);
        ProcessDescriptors.Register(_registry);
        Requests = _factory.CreateCounter("pvdrm_requests_total",
            "Requests answered, by guest, operation and status (ok or an errno name).", ["guest", "op", "status"]);
        Latency = _factory.CreateHistogram("pvdrm_request_duration_seconds",
            "Time from decoding a request to its reply, by guest and operation.", ["guest", "op"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.000_005, 2, 20) }); // 5 µs .. 2.6 s
        _mode = _factory.CreateGauge("pvdrm_sequential", "1 when every request passes through the sequential gate.");
        _guests = _factory.CreateGauge("pvdrm_guests", "Guests connected.");
        _admitted = _factory.CreateCounter("pvdrm_guests_admitted_total", "Guests admitted since the host started.");
        _guestDevice = _factory.CreateGauge("pvdrm_guest_device", "1 for the device each guest is attached to (none: no device).", ["guest", "device"]);
        string version = typeof(HostMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        _factory.CreateGauge("pvdrm_build_info", "1, labelled with the running host's version.", ["version"]).WithLabels(version).Set(1);

        Gauge PerGuest(string name, string help) => _factory.CreateGauge(name, help, ["guest"]);
        _perGuest =
        [
            (PerGuest("pvdrm_guest_contexts", "Open contexts of each guest."), g => g.Contexts),
            (PerGuest("pvdrm_guest_objects", "GEM objects each guest holds."), g => g.Objects),
            (PerGuest("pvdrm_guest_memory_bytes", "Buffer memory charged to each guest."), g => g.Bytes),
            (PerGuest("pvdrm_guest_mapped_bytes", "Bytes of each guest's buffers it has mapped."), g => g.MappedBytes),
            (PerGuest("pvdrm_guest_channels", "Open channels of each guest."), g => g.Channels),
            (PerGuest("pvdrm_guest_queued_pushbufs", "Pushbufs each guest has waiting on the device."), g => g.QueuedPushbufs),
            (PerGuest("pvdrm_guest_in_flight_requests", "Requests of each guest being served."), g => g.InFlight),
        ];
        _guestEngine = _factory.CreateCounter("pvdrm_guest_engine_seconds_total", "Engine time each guest's pushbufs used (devices that account it: SoftGpu).", ["guest"]);
        _deviceBusy = _factory.CreateCounter("pvdrm_device_busy_seconds_total", "Engine time each device spent running pushbufs; its rate over pvdrm_device_engines is the busy ratio.", ["device"]);
        _deviceEngines = _factory.CreateGauge("pvdrm_device_engines", "Engines of each device that account their time (0: the device does not say).", ["device"]);
        Gauge PerDevice(string name, string help) => _factory.CreateGauge(name, help, ["device"]);
        _perDevice =
        [
            (PerDevice("pvdrm_device_buffers", "Live buffers on each device."), d => d.LiveBuffers),
            (PerDevice("pvdrm_device_buffer_bytes", "Bytes of live buffers on each device."), d => d.LiveBytes),
            (PerDevice("pvdrm_device_channels", "Open channels on each device."), d => d.LiveChannels),
            (PerDevice("pvdrm_device_running_pushbufs", "Pushbufs running on each device's engines."), d => d.Running),
            (PerDevice("pvdrm_device_memory_bytes", "Memory each device reports (0: it does not say)."), d => d.MemoryBytes),
            (PerDevice("pvdrm_device_guests", "Connected guests attached to each device."), d => d.Guests.Count),
        ];
        _perDeviceTotals =
        [
            (_factory.CreateCounter("pvdrm_device_pushbufs_submitted_total", "Pushbufs submitted to each device.", ["device"]), d => d.Submitted),
            (_factory.CreateCounter("pvdrm_device_pushbufs_completed_total", "Pushbufs each device completed.", ["device"]), d => d.Completed),
        ];
    }

    internal Counter Requests { get; }

    internal Histogram Latency { get; }

    /// <summary>The address it serves, once started: http://ADDR:PORT/metrics.</summary>
    public string? Url { get; private set; }

    /// <summary>
    /// Serves <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> on <paramref name="listen"/>
    /// (ADDR:PORT; port 0 picks a free one).
    /// </summary>
    /// <param name="readiness">Null when guests can be served, else why not.</param>
    public void Start(string listen, HostSettings settings, Func<CancellationToken, Task<ControlProtocol.HostStatus>> snapshot, Func<string?> readiness)
    {
        var endpoint = IPEndPoint.Parse(listen); // checked with the settings
        foreach (var (name, value) in new (string, double)[]
        {
            ("pvdrm_limit_memory_per_guest_bytes", settings.MemoryPerGuest), ("pvdrm_limit_contexts_per_guest", settings.ContextsPerGuest),
            ("pvdrm_limit_channels_per_guest", settings.ChannelsPerGuest), ("pvdrm_limit_in_flight_requests_per_guest", settings.InFlightPerGuest),
            ("pvdrm_limit_queued_pushbufs_per_guest", settings.QueuedPushbufsPerGuest), ("pvdrm_limit_handles_per_context", settings.HandlesPerContext),
        })
            _factory.CreateGauge(name, "A limit of pvdrm.host.limits, for quota-use ratios.").Set(value);
        _registry.AddBeforeCollectCallback(async ct => Show(await snapshot(ct)));
        _endpoint = new MetricsEndpoint(endpoint, _registry, async ct => await Healthy(snapshot, ct), readiness);
        Url = $"http://{_endpoint.Address}/metrics";
    }

    /// <summary>Alive: the host's actors answer a status request in time.</summary>
    private static async Task<string?> Healthy(Func<CancellationToken, Task<ControlProtocol.HostStatus>> snapshot, CancellationToken ct)
    {
        try
        {
            await snapshot(ct);
            return null;
        }
        catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException or TaskCanceledException)
        {
            return "the host did not answer a status request in time";
        }
    }

    /// <summary>On a pool node: the pool's families, read from <paramref name="counters"/> at each scrape.</summary>
    internal void AddPool(Pool.PoolCounters counters)
    {
        var pool = new PoolMetrics(_factory, counters);
        _registry.AddBeforeCollectCallback(() =>
        {
            lock (_scrapeLock) pool.Show();
        });
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
            _mode.Set(status.Mode == "sequential" ? 1 : 0);
            _guests.Set(status.Guests.Count);
            _admitted.IncTo(status.Totals.GuestsAdmitted);
            foreach (var d in status.Devices)
            {
                foreach (var (gauge, value) in _perDevice) gauge.WithLabels(d.Name).Set(value(d));
                foreach (var (counter, value) in _perDeviceTotals) counter.WithLabels(d.Name).IncTo(value(d));
                _deviceBusy.WithLabels(d.Name).IncTo(d.BusySeconds);
                _deviceEngines.WithLabels(d.Name).Set(d.Engines);
            }
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var g in status.Guests)
            {
                present.Add(g.Name);
                foreach (var (gauge, value) in _perGuest) gauge.WithLabels(g.Name).Set(value(g));
                double seen = _engineSeen.GetValueOrDefault(g.Name);
                _guestEngine.WithLabels(g.Name).Inc(g.EngineSeconds >= seen ? g.EngineSeconds - seen : g.EngineSeconds);
                _engineSeen[g.Name] = g.EngineSeconds;
                string device = g.Device ?? "none";
                if (_deviceShown.TryGetValue(g.Name, out var was) && was != device) _guestDevice.RemoveLabelled(g.Name, was);
                _guestDevice.WithLabels(g.Name, device).Set(1);
                _deviceShown[g.Name] = device;
            }
            foreach (var gone in _guestsShown.Where(n => !present.Contains(n)).ToList())
            {
                foreach (var (gauge, _) in _perGuest) gauge.RemoveLabelled(gone);
                _guestEngine.RemoveLabelled(gone);
                _engineSeen.Remove(gone);
                if (_deviceShown.Remove(gone, out var device)) _guestDevice.RemoveLabelled(gone, device);
                _guestsShown.Remove(gone);
            }
            _guestsShown.UnionWith(present);
        }
    }

    public void Dispose() => _endpoint?.Dispose();
}
