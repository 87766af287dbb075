using System.Text.RegularExpressions;
using PvDrm.Client;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>A pool node's scrape: the pvdrm_pool_* families beside the host's, under the same naming rules.</summary>
public class PoolMetricsTests : IDisposable
{
    private readonly Processes _run = new();

    [Fact]
    public async Task A_pool_nodes_families_follow_the_prometheus_naming_rules_and_count_its_placements()
    {
        var nodes = new PoolNodes(_run);
        int port = PoolTests.FreePort();
        var node = await nodes.Start("n1", hostExtra: $"metrics.listen = \"127.0.0.1:{port}\"");
        await node.WaitForStderrAsync("Prometheus metrics at", Processes.Timeout);
        await PoolTests.AwaitPool(nodes.Control("n1"), s => PoolTests.AllUp(s, 1), "the one-node pool should be up");
        await using var guest = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "scraped" });
        await Verified.FillAndCheck(await guest.OpenContextAsync(), 0x31);
        await PoolTests.AwaitPool(nodes.Control("n1"), s => s.Assignments.ContainsKey("scraped"), "the guest should be placed");

        // The pool actor counts the placement as its replicated data arrives: scrape until it shows.
        using var http = new HttpClient { Timeout = Processes.Timeout };
        var deadline = DateTime.UtcNow + Processes.Timeout; // bounds a hang only
        string text;
        while (!Regex.IsMatch(text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"), @"(?m)^pvdrm_pool_node_guests 1$")
               && DateTime.UtcNow < deadline)
            await Task.Delay(50);

        var types = PrometheusLint.Check(text);
        foreach (var (family, type) in new[]
        {
            ("pvdrm_pool_members", "gauge"), ("pvdrm_pool_placements", "gauge"), ("pvdrm_pool_node_guests", "gauge"),
            ("pvdrm_pool_failovers_total", "counter"), ("pvdrm_pool_placements_expired_total", "counter"),
            ("pvdrm_pool_replicated_writes_total", "counter"),
        })
            Assert.Equal(type, types.GetValueOrDefault(family));
        Assert.Contains("pvdrm_guest_memory_bytes", types.Keys);
        Assert.Matches(@"(?m)^pvdrm_pool_members\{status=""Up""\} 1$", text);
        Assert.Matches(@"(?m)^pvdrm_pool_placements 1$", text);
        Assert.Matches(@"(?m)^pvdrm_pool_node_guests 1$", text);
    }

    public void Dispose() => _run.Dispose();
}
