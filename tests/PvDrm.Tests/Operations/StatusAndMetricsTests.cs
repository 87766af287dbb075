using System.Globalization;
using System.Text.RegularExpressions;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>What an operator sees: the status snapshot and the Prometheus endpoint, read back and parsed.</summary>
public class StatusAndMetricsTests : TestKit
{
    [Fact]
    public async Task Status_counts_each_guests_requests_errors_latency_and_mapped_bytes()
    {
        var host = new HostHarness(this);
        await using var busy = await host.ConnectAsync("busy");
        await using var failing = await host.ConnectAsync("failing");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ctx = await busy.OpenContextAsync();
        var objects = new List<GemObject>();
        for (int i = 0; i < 3; i++) objects.Add(await ctx.GemNewAsync(65536));
        await objects[0].MapAsync();
        for (int i = 0; i < 10; i++) await busy.GetParamAsync(PvDrm.Native.Gpu.DeviceParam.GraphUnits);
        long clientUs = (long)clock.Elapsed.TotalMicroseconds; // the requests ran one after another
        var other = await failing.OpenContextAsync();
        for (int i = 0; i < 2; i++)
            Assert.Equal(Errno.ENOENT, (await Assert.ThrowsAsync<DrmException>(() => other.ImportAsync(4242))).Errno);

        // OPEN_CONTEXT, 3 GEM_NEW, GEM_MAP, 10 GET_PARAM; counted once each reply has gone.
        AwaitAssert(() => Assert.Equal(15, host.GuestStatus("busy").Served), HostHarness.Timeout, HostHarness.Poll);
        var status = host.GuestStatus("busy");
        Assert.Equal((3, 3 * 65536L, 65536L), (status.Objects, status.Bytes, status.MappedBytes));
        Assert.Equal(15, status.Latency.Count);
        // The host's figures are in microseconds of the requests the client timed: no one request took
        // longer than all of them together, and the slowest took some time.
        Assert.InRange(status.Latency.MaxUs, 1.0, clientUs);
        Assert.Empty(status.Errors);
        AwaitAssert(() => Assert.Equal(2, host.GuestStatus("failing").Errors["ENOENT"]), HostHarness.Timeout, HostHarness.Poll);

        await objects[0].CloseAsync();
        AwaitAssert(() => Assert.Equal(0, host.GuestStatus("busy").MappedBytes), HostHarness.Timeout, HostHarness.Poll);
        Assert.Null(host.Status().MetricsUrl);
    }

    [Fact]
    public async Task The_metrics_endpoint_serves_requests_latencies_and_quota_use_by_guest_and_forgets_departed_guests()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, MetricsListen = "127.0.0.1:0" });
        string url = host.Status().MetricsUrl!;
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/metrics$", url);
        var guest = await host.ConnectAsync("m1");
        var ctx = await guest.OpenContextAsync();
        for (int i = 0; i < 3; i++) await ctx.GemNewAsync(8192);
        await Assert.ThrowsAsync<DrmException>(() => ctx.ImportAsync(4242));

        using var http = new HttpClient { Timeout = HostHarness.Timeout };
        Dictionary<string, double> metrics = new();
        await AwaitAssertAsync(async () =>
        {
            metrics = Parse(await http.GetStringAsync(url));
            Assert.Equal(3, metrics.GetValueOrDefault("pvdrm_requests_total{guest=\"m1\",op=\"GEM_NEW\",status=\"ok\"}"));
        }, HostHarness.Timeout, HostHarness.Poll);
        Assert.Equal(1, metrics["pvdrm_requests_total{guest=\"m1\",op=\"GEM_IMPORT\",status=\"ENOENT\"}"]);
        Assert.Equal(3, metrics["pvdrm_request_duration_seconds_count{guest=\"m1\",op=\"GEM_NEW\"}"]);
        Assert.True(metrics["pvdrm_request_duration_seconds_sum{guest=\"m1\",op=\"GEM_NEW\"}"] > 0);
        Assert.Equal(3 * 8192, metrics["pvdrm_guest_memory_bytes{guest=\"m1\"}"]);
        Assert.Equal(3, metrics["pvdrm_guest_objects{guest=\"m1\"}"]);
        Assert.Equal(host.Settings.MemoryPerGuest, metrics["pvdrm_limit_memory_per_guest_bytes"]);
        Assert.Equal(1, metrics["pvdrm_guests"]);
        Assert.Equal(0, metrics["pvdrm_sequential"]);
        Assert.Equal(3, metrics[$"pvdrm_device_buffers{{device=\"{host.Device.Name}\"}}"]);
        Assert.Equal(1, metrics[$"pvdrm_guest_device{{guest=\"m1\",device=\"{host.Device.Name}\"}}"]);

        // Engine time: none yet for m1 (no pushbuf); the device says how many engines account it.
        Assert.Equal(0, metrics["pvdrm_guest_engine_seconds_total{guest=\"m1\"}"]);
        Assert.Equal(2, metrics[$"pvdrm_device_engines{{device=\"{host.Device.Name}\"}}"]);
        var channel = await ctx.ChannelAllocAsync();
        await ctx.FenceWaitAsync(await ctx.SubmitAsync(channel, Commands.Fill(await ctx.GemNewAsync(1 << 20), 7))).WaitAsync(HostHarness.Timeout);
        await AwaitAssertAsync(async () =>
        {
            metrics = Parse(await http.GetStringAsync(url));
            Assert.True(metrics["pvdrm_guest_engine_seconds_total{guest=\"m1\"}"] > 0);
        }, HostHarness.Timeout, HostHarness.Poll);
        Assert.True(metrics[$"pvdrm_device_busy_seconds_total{{device=\"{host.Device.Name}\"}}"] >= metrics["pvdrm_guest_engine_seconds_total{guest=\"m1\"}"]);
        Assert.True(host.GuestStatus("m1").EngineSeconds > 0);
        Assert.True(metrics["process_open_fds"] > 0);
        Assert.True(metrics["process_max_fds"] >= metrics["process_open_fds"]);
        Assert.Contains(metrics.Keys, k => k.StartsWith("pvdrm_build_info{version=", StringComparison.Ordinal));

        // The probes beside the scrape: alive and ready while serving; anything else is 404.
        string root = url[..^"metrics".Length];
        using (var health = await http.GetAsync(root + "healthz"))
            Assert.Equal((System.Net.HttpStatusCode.OK, "ok\n"), (health.StatusCode, await health.Content.ReadAsStringAsync()));
        using (var ready = await http.GetAsync(root + "readyz"))
            Assert.Equal((System.Net.HttpStatusCode.OK, "ok\n"), (ready.StatusCode, await ready.Content.ReadAsStringAsync()));
        using (var unknown = await http.GetAsync(root + "nothing"))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);

        await guest.DisposeAsync();
        await AwaitAssertAsync(async () =>
        {
            metrics = Parse(await http.GetStringAsync(url));
            Assert.Equal(0, metrics["pvdrm_guests"]);
        }, HostHarness.Timeout, HostHarness.Poll);
        Assert.DoesNotContain(metrics.Keys, k => k.Contains("guest=\"m1\""));
        Assert.Equal(1, metrics["pvdrm_guests_admitted_total"]);
    }

    /// <summary>Prometheus' naming rules on every family the host serves (<see cref="PrometheusLint"/>).</summary>
    [Fact]
    public async Task Every_metric_family_follows_the_prometheus_naming_rules()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, MetricsListen = "127.0.0.1:0" });
        await using var guest = await host.ConnectAsync("lint");
        await (await guest.OpenContextAsync()).GemNewAsync(4096);
        using var http = new HttpClient { Timeout = HostHarness.Timeout };
        var response = await http.GetAsync(host.Status().MetricsUrl!);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        string text = await response.Content.ReadAsStringAsync();

        var types = PrometheusLint.Check(text);
        Assert.Contains("pvdrm_guest_memory_bytes", types.Keys);
        Assert.Contains("process_open_fds", types.Keys);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3, 3)]
    [InlineData(4, 4)]
    [InlineData(7, 7)]
    [InlineData(8, 9)]
    [InlineData(1000, 1023)]
    [InlineData(1024, 1279)]
    public void Latency_buckets_are_within_a_quarter_of_a_power_of_two(long micros, long upper)
    {
        int bucket = LatencyHistogram.BucketOf(micros);
        Assert.Equal(upper, LatencyHistogram.UpperBound(bucket));
        Assert.True(bucket == 0 || LatencyHistogram.UpperBound(bucket - 1) < micros);
    }

    private static readonly Regex Sample = new(@"^(?<name>[a-z_]+(\{[^}]*\})?) (?<value>\S+)$", RegexOptions.Multiline);

    /// <summary>The Prometheus text format's samples: series (name with labels) to value.</summary>
    private static Dictionary<string, double> Parse(string text) =>
        Sample.Matches(text).ToDictionary(m => m.Groups["name"].Value, m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
}
