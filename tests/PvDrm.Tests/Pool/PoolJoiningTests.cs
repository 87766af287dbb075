using System.Globalization;
using System.Net;
using Akka.Configuration;
using PvDrm.Actors.Host.Pool;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;
using static PvDrm.Tests.Pool.PoolTests;

namespace PvDrm.Tests.Pool;

/// <summary>
/// How nodes find each other, every node a real process: a node listening on every interface
/// known by its public hostname, and a pool formed by Cluster Bootstrap with configuration
/// discovery and no seed nodes, its management endpoint on loopback serving bootstrap alone.
/// </summary>
public class PoolJoiningTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();
    private PoolCertificates? _pki;

    private PoolCertificates Pki => _pki ??= new PoolCertificates(_run["pki"], "pool CA");

    private string Socket(string node) => _run[$"{node}.sock"];

    private string Control(string node) => _run[$"{node}-control.sock"];

    private async Task<ChildProcess> StartNode(string node, string cluster)
    {
        File.WriteAllText(_run[$"{node}.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{Socket(node)}}"
              control.unix = "{{Control(node)}}"
              soft-gpu { engines = 1, memory = 64 MiB }
              default-device = auto
            }
            pvdrm.cluster {
              enabled = on
              node-name = {{node}}
              advertise = ["unix:{{Socket(node)}}"]
              failure-detection = 5 s
              {{Pki.TlsHocon(node)}}
              {{cluster}}
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run[$"{node}.hocon"]);
        await host.WaitForFileAsync(Control(node), Timeout);
        return host;
    }

    [Fact]
    public async Task A_node_listening_on_every_interface_joins_by_its_public_hostname()
    {
        // n1 listens on 0.0.0.0 and is known as 127.0.0.2 (another loopback address): its seed
        // address, which names it, must be the public one for it to start the pool at all.
        int p1 = FreePort(), p2 = FreePort();
        string seed = $"seed-nodes = [\"akka.ssl.tcp://pvdrm@127.0.0.2:{p1}\"]";
        await StartNode("n1", $"hostname = \"0.0.0.0\", public-hostname = \"127.0.0.2\", port = {p1}\n{seed}");
        await StartNode("n2", $"hostname = \"127.0.0.1\", port = {p2}\n{seed}");
        var pool = await AwaitPool(Control("n2"), s => AllUp(s, 2), "n1 (on 0.0.0.0, public 127.0.0.2) and n2 should form the pool");
        Assert.Equal($"akka.ssl.tcp://pvdrm@127.0.0.2:{p1}", pool.Nodes.Single(n => n.Name == "n1").Address);
        Assert.Equal($"akka.ssl.tcp://pvdrm@127.0.0.1:{p2}", pool.Nodes.Single(n => n.Name == "n2").Address);
    }

    [Fact]
    public async Task Two_nodes_form_a_pool_through_cluster_bootstrap_with_no_seed_nodes()
    {
        int p1 = FreePort(), p2 = FreePort(), m1 = FreePort(), m2 = FreePort();
        string Bootstrap(int port) => $$"""
            bootstrap {
              enabled = on
              endpoints = ["127.0.0.1:{{m1}}", "127.0.0.1:{{m2}}"]
              management.port = {{port}}
            }
            """;
        await StartNode("n1", $"port = {p1}\n{Bootstrap(m1)}");
        await StartNode("n2", $"port = {p2}\n{Bootstrap(m2)}");
        await AwaitPool(Control("n1"), s => AllUp(s, 2), "n1 and n2 should find each other through their management endpoints");
        await AwaitPool(Control("n2"), s => AllUp(s, 2), "n2 should see the same pool");

        // The endpoint listens on loopback by default, and serves bootstrap's route alone.
        Assert.Equal(["127.0.0.1"], Listening(m1));
        using var http = new HttpClient { Timeout = Timeout };
        var seeds = await http.GetAsync($"http://127.0.0.1:{m1}/bootstrap/seed-nodes");
        string body = await seeds.Content.ReadAsStringAsync();
        Assert.True(seeds.IsSuccessStatusCode, body);
        // Akka.Management's answer: this node's address, and the members (Address as Host and Port).
        Assert.Contains($"\"Port\":{p2}", body);
        foreach (string off in new[] { "/remote/address", "/cluster-client/receptionist" })
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{m1}{off}")).StatusCode);
    }

    [Fact]
    public void A_node_is_refused_with_both_seed_nodes_and_bootstrap()
    {
        var config = ConfigurationFactory.ParseString("""
            pvdrm.cluster {
              enabled = on
              node-name = n1
              advertise = ["unix:/run/pvdrm/host.sock"]
              insecure = on
              seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:2551"]
              bootstrap { enabled = on, endpoints = ["127.0.0.1:8558", "127.0.0.2:8558"] }
            }
            """);
        var refused = Assert.Throws<ConfigurationException>(() => ClusterSettings.Create(config));
        Assert.StartsWith("pvdrm.cluster.seed-nodes: set either seed-nodes or pvdrm.cluster.bootstrap.enabled = on, not both", refused.Message);
    }

    /// <summary>The local addresses of the TCP sockets listening on <paramref name="port"/> (/proc/net/tcp and tcp6).</summary>
    private static List<string> Listening(int port)
    {
        var found = new List<string>();
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string[] local = f[1].Split(':');
                if (f[3] != "0A" || int.Parse(local[1], NumberStyles.HexNumber) != port) continue; // 0A: LISTEN
                byte[] raw = Convert.FromHexString(local[0]);
                // The kernel prints each 32-bit word of the address in host (little-endian) order.
                for (int i = 0; i < raw.Length; i += 4) Array.Reverse(raw, i, 4);
                found.Add(new IPAddress(raw).ToString());
            }
        return found;
    }

    public void Dispose() => _run.Dispose();
}
