using System.Diagnostics;
using PvDrm.Actors.Host.Control;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;
using PvDrm.Host.Demo;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// The guest proxy's GEM cache (pvdrm.guest.cache): one application churning GEM_NEW + GEM_CLOSE
/// through a proxy with the cache off and another with it on, in front of the same host. The
/// host's per-guest request count (its control socket's status) gives the round trips each proxy
/// made; trials alternate between the two, after one untimed trial each.
/// </summary>
public sealed class CacheCase : BenchCase
{
    /// <summary>What an application allocates and frees each round, one call at a time: a few distinct sizes, as a frame's buffers.</summary>
    private static readonly ulong[] s_sizes = [64 << 10, 256 << 10, 1 << 20, 4 << 20];

    public override string Name => "cache";

    public override string Title => "GEM_NEW/CLOSE churn through a proxy, cache off vs on";

    public override IReadOnlyList<string> Keys => ["cache_roundtrip_reduction", "cache_speedup"];

    private sealed class Side(string label, DrmClient app, DrmContext context, string guest, string proxyControl)
    {
        public string Label { get; } = label;
        public DrmClient App { get; } = app;
        public DrmContext Context { get; } = context;
        public string Guest { get; } = guest;
        public string ProxyControl { get; } = proxyControl;
        public Samples OpsPerSecond { get; } = new();
        public long HostRequests { get; set; }
        public long Objects { get; set; }
        public double LastSeconds { get; set; }
    }

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and two guest proxies");
        var host = await c.Env.MainHostAsync();
        var proxies = new List<ChildProcess>();
        try
        {
            var off = await StartAsync(c, host, "off", cache: false, proxies);
            var on = await StartAsync(c, host, "on", cache: true, proxies);
            string control = BenchEnv.ControlSocket(host);
            // The warm-up counts: its requests include the cold cache's misses, so the reduction is
            // from a start with an empty pool, not only from the warm steady state.
            c.Status("warming up");
            foreach (var side in new[] { off, on })
            {
                long before = await ServedAsync(control, side.Guest);
                await RoundsAsync(side, c.Settings.CacheRounds / 4);
                side.HostRequests += await SettledServedAsync(control, side.Guest) - before;
                side.Objects += c.Settings.CacheRounds / 4 * s_sizes.Length;
            }

            int trials = c.Settings.CacheTrials;
            var speedups = new Samples(trials);
            for (int t = 0; t < trials; t++)
            {
                c.Status($"trial {t + 1}/{trials}");
                foreach (var side in t % 2 == 0 ? new[] { off, on } : new[] { on, off })
                {
                    long before = await ServedAsync(control, side.Guest);
                    double seconds = await RoundsAsync(side, c.Settings.CacheRounds);
                    // The cache's own requests (naming pooled objects) may trail the last reply a little: count them in this trial.
                    side.HostRequests += await SettledServedAsync(control, side.Guest) - before;
                    side.Objects += c.Settings.CacheRounds * s_sizes.Length;
                    side.OpsPerSecond.Add(c.Settings.CacheRounds * s_sizes.Length / seconds);
                    side.LastSeconds = seconds;
                }
                speedups.Add(off.LastSeconds / on.LastSeconds);
                c.Progress((t + 1.0) / trials);
            }

            string work = $"{c.Settings.CacheRounds} rounds x {s_sizes.Length} sizes (64 KiB-4 MiB) of GEM_NEW then GEM_CLOSE, one call at a time";
            foreach (var side in new[] { off, on })
            {
                double perObject = (double)side.HostRequests / side.Objects;
                c.Report.Throughput(Name, $"cache_{side.Label}_ops_per_s", side.OpsPerSecond, "obj/s", note: $"cache {side.Label}: {work}");
                c.Report.Value(Name, $"cache_{side.Label}_host_requests_per_object", perObject, $"{perObject:F2}", $"{side.Objects} obj.",
                    $"host requests per object created and closed, cache {side.Label} (host status, per guest)");
            }
            // A ratio of two counts over the whole run (the warm-up's cold misses included), not of timings.
            const string reductionNote = "host requests without the cache / with it, same workload, whole run (from an empty pool)";
            if (on.HostRequests > 0)
                c.Report.Ratio(Name, "cache_roundtrip_reduction", (double)off.HostRequests / on.HostRequests, reductionNote);
            else
                c.Report.Unbounded(Name, "cache_roundtrip_reduction", off.HostRequests,
                    $"the cached proxy made no host request for {on.Objects} objects: no finite ratio (at least {off.HostRequests} / 1)", reductionNote);
            c.Report.Ratio(Name, "cache_speedup", speedups, "objects per second with the cache / without, per pair of trials (alternating order)");
            if (await HitRateAsync(on.ProxyControl) is double hits)
                c.Report.Value(Name, "cache_hit_rate", hits, $"{hits:P1}", "", "the cached proxy's hits / (hits + misses), from its status");
        }
        finally
        {
            foreach (var p in proxies) await p.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    private static async Task<Side> StartAsync(CaseContext c, HostProcess host, string label, bool cache, List<ChildProcess> proxies)
    {
        string name = c.Env.NewName($"bench-cache-{label}");
        string proxyControl = Path.Combine(c.Env.Dir, $"{name}.control");
        var (process, endpoint) = await c.Env.StartProxyAsync(host, name,
            $"pvdrm.guest.cache.enabled = {(cache ? "on" : "off")}\npvdrm.guest.control.unix = \"{proxyControl}\"\n");
        proxies.Add(process);
        var app = c.Env.Track(await DrmClient.ConnectAsync(endpoint, new DrmClientOptions { Name = $"{name}-app" }));
        return new Side(label, app, await app.OpenContextAsync(), name, proxyControl);
    }

    /// <summary>Runs <paramref name="rounds"/> rounds; returns the seconds they took.</summary>
    private static async Task<double> RoundsAsync(Side side, int rounds)
    {
        var objects = new GemObject[s_sizes.Length];
        long start = Stopwatch.GetTimestamp();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < s_sizes.Length; i++) objects[i] = await side.Context.GemNewAsync(s_sizes[i]);
            foreach (var gem in objects) await gem.CloseAsync();
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static async Task<long> ServedAsync(string control, string guest)
    {
        var response = await ControlClient.SendAsync(control, new ControlProtocol.Request("status"), TimeSpan.FromSeconds(10));
        return response.Status?.Guests.FirstOrDefault(g => g.Name == guest)?.Served
            ?? throw new InvalidOperationException($"the host's status has no guest {guest}: {response.Message}");
    }

    /// <summary>The count once it stops moving (checked every 20 ms, at most a second).</summary>
    private static async Task<long> SettledServedAsync(string control, string guest)
    {
        long last = await ServedAsync(control, guest);
        for (int i = 0; i < 50; i++)
        {
            await Task.Delay(20);
            long now = await ServedAsync(control, guest);
            if (now == last) return now;
            last = now;
        }
        return last;
    }

    private static async Task<double?> HitRateAsync(string proxyControl)
    {
        var response = await ControlClient.SendAsync(proxyControl, new ControlProtocol.Request("status"), TimeSpan.FromSeconds(10));
        if (response.Proxy?.Cache is not { } stats || stats.Hits + stats.Misses == 0) return null;
        return (double)stats.Hits / (stats.Hits + stats.Misses);
    }
}
