using System.Net;
using System.Net.Sockets;
using PvDrm.Actors.Host.Control;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// A pool of two pvdrm-host nodes (CLUSTER.md): a guest whose device is on the node it reached,
/// and one redirected to the other node, each timing a small request inside its context. After
/// the redirect the data path is a direct connection too, so the two should be equal.
/// </summary>
public sealed class RedirectCase : BenchCase
{
    public override string Name => "redirect";

    public override string Title => "a redirected guest's round trip vs a local one, in a pool of two nodes";

    public override IReadOnlyList<string> Keys => ["redirect_rtt_us", "redirect_local_rtt_us", "redirect_ratio_vs_local"];

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Node(BenchEnv env, string name, int port, int seed) => $$"""
        pvdrm.host.default-device = none
        pvdrm.cluster {
          enabled = on, node-name = {{name}}, port = {{port}}
          seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:{{seed}}"]
          advertise = ["unix:{{Path.Combine(env.Dir, $"pool-{name}", "host.sock")}}"]
          # The redirected data path never crosses remoting; the nodes share 127.0.0.1 only.
          insecure = on
        }
        """;

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting a pool of two nodes");
        int p1 = FreePort(), p2 = FreePort();
        var n1 = await c.Env.StartHostAsync("pool-n1", sequential: false, Node(c.Env, "n1", p1, p1));
        await c.Env.StartHostAsync("pool-n2", sequential: false, Node(c.Env, "n2", p2, p1));
        string control = BenchEnv.ControlSocket(n1);
        for (var until = DateTime.UtcNow + BenchEnv.StartTimeout; ; await Task.Delay(100))
        {
            var pool = (await ControlClient.SendAsync(control, new ControlProtocol.Request("cluster-status"), TimeSpan.FromSeconds(10))).Cluster;
            if (pool is { Nodes.Count: 2 } && pool.Nodes.All(n => n.State == "Up")) break;
            if (DateTime.UtcNow > until) throw new TimeoutException("the pool of two nodes did not form");
        }
        foreach (var (guest, device) in new[] { ("bench-local", "n1/soft0"), ("bench-redirected", "n2/soft0") })
        {
            var placed = await ControlClient.SendAsync(control, new ControlProtocol.Request("attach", guest, Value: device), TimeSpan.FromSeconds(10));
            if (!placed.Ok) throw new InvalidOperationException(placed.Message);
        }

        // Both reach n1; one context opens there, the other on n2.
        var local = await (await c.Env.ConnectAsync(n1.Endpoint, "bench-local")).OpenContextAsync();
        var redirected = await (await c.Env.ConnectAsync(n1.Endpoint, "bench-redirected")).OpenContextAsync();
        if (ReferenceEquals(redirected.Client, local.Client) || redirected.Client.Endpoint == n1.Endpoint)
            throw new InvalidOperationException("the second guest was not redirected");
        var localGem = await local.GemNewAsync(4096);
        var remoteGem = await redirected.GemNewAsync(4096);

        c.Status("measuring");
        var rt = await Measure.InterleavedAsync(() => remoteGem.InfoAsync(), () => localGem.InfoAsync(),
            c.Settings.RttSamples, c.Settings.RttWarmup, c.Settings.Blocks, c, 0, 1);
        var (r, l) = rt;
        c.Report.Latency(Name, "redirect_rtt_us", r, "GEM_INFO in a context redirected from n1 to n2 (its own connection to n2)");
        c.Report.Latency(Name, "redirect_local_rtt_us", l, "GEM_INFO in a context on n1, the node the guest reached");
        c.Report.Ratio(Name, "redirect_ratio_vs_local", rt.Ratio(0, 1), "redirected / local, per interleaved block: the data path is one hop either way");
    }
}
