using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// pvdrm-host pool nodes as real processes on 127.0.0.1 without TLS (PoolTrustTests covers TLS),
/// each with its own port, state folder and sockets kept across restarts; the first node is
/// every node's seed.
/// </summary>
internal sealed class PoolNodes(Processes run)
{
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);
    private int? _seed;

    public string Socket(string node) => run[$"{node}.sock"];

    public string Control(string node) => run[$"{node}-control.sock"];

    public string StateDir(string node) => run[$"{node}-state"];


    /// <summary>
    /// Starts <paramref name="node"/> (again: same port and state folder) with <paramref name="extra"/>
    /// cluster settings and <paramref name="hostExtra"/> host settings.
    /// </summary>
    public async Task<ChildProcess> Start(string node, string extra = "", string hostExtra = "")
    {
        if (!_ports.TryGetValue(node, out int port)) _ports[node] = port = PoolTests.FreePort();
        _seed ??= port;
        File.WriteAllText(run[$"{node}.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{Socket(node)}}"
              control.unix = "{{Control(node)}}"
              soft-gpu { engines = 1, memory = 64 MiB }
              default-device = auto
              {{hostExtra}}
            }
            pvdrm.cluster {
              enabled = on
              node-name = {{node}}
              port = {{port}}
              seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:{{_seed}}"]
              advertise = ["unix:{{Socket(node)}}"]
              insecure = on
              # Tests share a loaded machine: no node is downed for a pause (failover timing is not tested).
              failure-detection = 5 s
              {{extra}}
            }
            """);
        File.Delete(Control(node));
        File.Delete(Socket(node));
        var host = run.Start("pvdrm-host", "serve", "--config", run[$"{node}.hocon"]);
        await host.WaitForFileAsync(Control(node), Processes.Timeout);
        await host.WaitForFileAsync(Socket(node), Processes.Timeout);
        return host;
    }
}
