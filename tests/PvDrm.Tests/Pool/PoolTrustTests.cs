using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using Akka.Remote.Transport.DotNetty;
using PvDrm.Actors.Host.Control;
using PvDrm.Actors.Host.Pool;
using PvDrm.Client;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;
using Xunit.Abstractions;
using static PvDrm.Tests.Pool.PoolTests;

namespace PvDrm.Tests.Pool;

/// <summary>
/// Who may join a pool and what a peer can make a node do, with every node a real process on
/// 127.0.0.1: mutual TLS admits only certificates of the pool's CA, and no message from the
/// network commands a node; its operator does, through the local control socket.
/// </summary>
public class PoolTrustTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();
    private PoolCertificates? _pool;
    private PoolCertificates? _other;
    private readonly List<ActorSystem> _intruders = new();

    private PoolCertificates Pool => _pool ??= new PoolCertificates(_run["pool-ca"], "pool CA");

    private PoolCertificates Other => _other ??= new PoolCertificates(_run["other-ca"], "another CA");

    private string Socket(string node) => _run[$"{node}.sock"];

    private string Control(string node) => _run[$"{node}-control.sock"];

    private async Task<ChildProcess> StartNode(string node, int port, int seedPort, string security)
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
              port = {{port}}
              seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:{{seedPort}}"]
              advertise = ["unix:{{Socket(node)}}"]
              down-after = 2 s
              failure-detection = 3 s
              {{security}}
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run[$"{node}.hocon"]);
        await host.WaitForFileAsync(Control(node), Timeout);
        return host;
    }

    /// <summary>Polls a node's log until <paramref name="text"/> appeared <paramref name="count"/> times.</summary>
    private static async Task AwaitLog(ChildProcess node, string text, int count, string what)
    {
        for (var until = DateTime.UtcNow + Timeout; ; await Task.Delay(HostHarness.Poll))
        {
            if (node.Stderr.Split(text).Length - 1 >= count) return;
            Assert.True(DateTime.UtcNow < until && !node.HasExited, $"{what}; its log: {node.Stderr}");
        }
    }

    /// <summary>An actor system of the test's that speaks Akka.Remote to the nodes, with TLS when given a certificate.</summary>
    private ActorSystem Intruder(string provider, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = {{provider}}
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, enable-ssl = {{(certificate != null ? "on" : "off")}} }
            akka.cluster.min-nr-of-members = 1
            akka.loglevel = WARNING
            """);
        var setup = BootstrapSetup.Create().WithConfig(config);
        var system = certificate == null ? ActorSystem.Create("pvdrm", setup)
            // It accepts any node's certificate: only the nodes' checks are under test.
            : ActorSystem.Create("pvdrm", setup.And(new DotNettySslSetup(certificate, suppressValidation: true, requireMutualAuthentication: true)));
        _intruders.Add(system);
        return system;
    }

    [Fact]
    public async Task Only_nodes_with_a_certificate_of_the_pools_CA_join_or_reach_a_node()
    {
        int p1 = FreePort(), p2 = FreePort(), p3 = FreePort(), p4 = FreePort();
        var n1 = await StartNode("n1", p1, p1, Pool.TlsHocon("n1"));
        await StartNode("n2", p2, p1, Pool.TlsHocon("n2"));
        await AwaitPool(Control("n1"), s => AllUp(s, 2), "n1 and n2, with certificates of the pool's CA, should form the pool");

        // A node of another pool (its own CA), and one without TLS, both seeded with n1.
        var n3 = await StartNode("n3", p3, p1, Other.TlsHocon("n3"));
        var n4 = await StartNode("n4", p4, p1, "insecure = on");
        await AwaitLog(n3, "its certificate 'CN=n1' does not chain to the pool's CA", 1, "n3 should find n1 outside its pool");
        await AwaitLog(n4, $"127.0.0.1:{p1}", 1, "n4 should fail to reach n1");

        // Nor does a process that accepts any certificate and presents one of another CA, or none:
        // it neither joins nor delivers anything to the host or the pool actor.
        foreach (var (what, certificate) in new[] { ("no TLS", null), ("a certificate of another CA", Other.Issue("intruder")) })
        {
            var system = Intruder("cluster", certificate);
            string n1Address = $"{(certificate == null ? "akka.tcp" : "akka.ssl.tcp")}://pvdrm@127.0.0.1:{p1}";
            var probe = new Akka.TestKit.Xunit2.TestKit(system).CreateTestProbe();
            system.EventStream.Subscribe(probe.Ref, typeof(RemotingLifecycleEvent));
            Akka.Cluster.Cluster.Get(system).Join(Address.Parse(n1Address));
            foreach (string path in new[] { "/user/pvdrm", "/user/pvdrm/pool" })
                system.ActorSelection(n1Address + path).Tell(new Identify(path), probe.Ref);
            // Undelivered, each Identify is answered by this system's dead letters, with no actor.
            int undelivered = 0;
            bool failed = false;
            while (undelivered < 2 || !failed)
            {
                var message = probe.ReceiveOne(Timeout);
                output.WriteLine($"{what}: {message}");
                Assert.NotNull(message);
                Assert.False(message is AssociatedEvent or ActorIdentity { Subject: not null }, $"with {what}, a message reached n1: {message}");
                if (message is AssociationErrorEvent or DisassociatedEvent) failed = true;
                if (message is ActorIdentity) undelivered++;
            }
            if (certificate != null)
                await AwaitLog(n1, "its certificate 'CN=intruder' does not chain to the pool's CA", 1, "n1 should refuse the intruder's certificate");
        }

        var pool = await PoolStatus(Control("n1"));
        Assert.Equal(["n1", "n2"], pool.Nodes.Select(n => n.Name));
        Assert.All(pool.Nodes, n => Assert.Equal("Up", n.State));
        Assert.False(pool.Insecure);
        Assert.True((await PoolStatus(Control("n4"))).Insecure);
        Assert.Contains("WITHOUT TLS", n4.Stderr);
    }

    [Fact]
    public async Task A_remote_control_attempt_changes_nothing_while_the_control_socket_works()
    {
        int p1 = FreePort(), p2 = FreePort();
        var n1 = await StartNode("n1", p1, p1, Pool.TlsHocon("n1"));
        await StartNode("n2", p2, p1, Pool.TlsHocon("n2"));
        await AwaitPool(Control("n1"), s => AllUp(s, 2), "n1 and n2 should form the pool");
        await using var guest = await DrmClient.ConnectAsync($"unix:{Socket("n1")}", new DrmClientOptions { Name = "gx" });
        var placed = await AwaitPool(Control("n1"), s => s.Assignments.ContainsKey("gx"), "gx should be placed");
        string before = placed.Assignments["gx"], elsewhere = before == "n1/soft0" ? "n2/soft0" : "n1/soft0";

        // It holds a certificate of the pool's CA: first as a process that has not joined, then as a member.
        var system = Intruder("cluster", Pool.Issue("intruder"));
        var probe = new Akka.TestKit.Xunit2.TestKit(system).CreateTestProbe();
        string n1Address = $"akka.ssl.tcp://pvdrm@127.0.0.1:{p1}";
        int attempts = 0;
        async Task TryToCommand(string who)
        {
            var asked = system.ActorSelection($"{n1Address}/user/pvdrm").Ask<ControlProtocol.Response>(
                new ControlProtocol.Request("attach", "gx", Value: elsewhere), Timeout);
            system.ActorSelection($"{n1Address}/user/pvdrm/guests").Tell(new ControlProtocol.Request("set", Key: "sequential", Value: "on"));
            system.ActorSelection($"{n1Address}/user/pvdrm/pool").Tell(new PoolProtocol.Assign("gx", elsewhere, "remote"));
            system.ActorSelection($"{n1Address}/user/pvdrm").Tell(PoisonPill.Instance);
            attempts++;
            var refused = Task.WhenAll(
                AwaitLog(n1, "refused a message of type", 3 * attempts, $"n1 should refuse the control requests of {who}"),
                AwaitLog(n1, "refused Akka message 'PP'", attempts, $"n1 should refuse the PoisonPill of {who}"));
            if (await Task.WhenAny(asked, refused) == asked && asked.IsCompletedSuccessfully)
                Assert.Fail($"{who} commanded n1 over Akka.Remote: {asked.Result.Message}");
            await refused;
            // The same connection still delivers what nodes may send, and the host is alive.
            var identity = await system.ActorSelection($"{n1Address}/user/pvdrm").Ask<ActorIdentity>(new Identify(who), Timeout);
            Assert.NotNull(identity.Subject);
        }

        await TryToCommand("a process that is not a member");
        var up = new TaskCompletionSource();
        var cluster = Akka.Cluster.Cluster.Get(system);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(Address.Parse(n1Address));
        await up.Task.WaitAsync(Timeout);
        await TryToCommand("a member of the pool");

        var after = await PoolStatus(Control("n1"));
        Assert.Equal(before, after.Assignments["gx"]);
        var status = await ControlClient.SendAsync(Control("n1"), new ControlProtocol.Request("status"), Timeout);
        Assert.Equal("concurrent", status.Status!.Mode);

        // The operator's way, the local control socket, does what the network could not.
        var attach = await ControlClient.SendAsync(Control("n1"), new ControlProtocol.Request("attach", "gx", Value: elsewhere), Timeout);
        Assert.True(attach.Ok, attach.Message);
        await AwaitPool(Control("n1"), s => s.Assignments["gx"] == elsewhere, $"gx should be on {elsewhere}");
    }

    public void Dispose()
    {
        foreach (var system in _intruders) system.Terminate().Wait(Timeout);
        _run.Dispose();
    }
}
