using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// A guest proxy whose guest is placed on a node that cannot be reached (a lost node, before the
/// pool moves its guests) asks its host again at the first interval instead of backing off, so
/// it connects as soon as the guest is moved (CLUSTER.md, "Failover time").
/// </summary>
public class ProxyFailoverTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private const string Waiting = "pvdrm-guest serve: waiting for the host: ";
    private readonly Processes _run = new();

    [Fact]
    public async Task A_proxy_sent_to_a_node_that_cannot_be_reached_asks_again_without_backing_off_and_connects_once_its_guest_is_moved()
    {
        var nodes = new PoolNodes(_run);
        await nodes.Start("n1");
        await nodes.Start("n2", extra: $"advertise = [\"unix:{_run["lost.sock"]}\"]"); // nobody listens there, as on a killed node
        await PoolTests.AwaitPool(nodes.Control("n1"), s => PoolTests.AllUp(s, 2) && s.Nodes.All(n => n.Devices.Count == 1), "two nodes should be up");
        await using (var first = await DrmClient.ConnectAsync($"unix:{nodes.Socket("n1")}", new DrmClientOptions { Name = "gp" }))
        {
            var attach = await ControlClient.SendAsync(nodes.Control("n1"), new ControlProtocol.Request("attach", "gp", Value: "n2/soft0"), Timeout);
            Assert.True(attach.Ok, attach.Message);
        }
        await PoolTests.AwaitPool(nodes.Control("n1"), s => s.Assignments.GetValueOrDefault("gp") == "n2/soft0", "gp should be on n2");

        var proxy = _run.Start("pvdrm-guest", "serve", "--host", $"unix:{nodes.Socket("n1")}", "--listen", $"unix:{_run["proxy.sock"]}", "--name", "gp");
        for (var until = DateTime.UtcNow + Timeout; Attempts(proxy.Stderr).Count < 4; await Task.Delay(HostHarness.Poll))
            Assert.True(DateTime.UtcNow < until && !proxy.HasExited, $"the proxy should keep asking: {proxy.Stderr}");
        var attempts = Attempts(proxy.Stderr);
        Assert.All(attempts, attempt => Assert.EndsWith("next attempt in 0.25 s", attempt));
        Assert.All(attempts, attempt => Assert.Contains($"sends guest gp to unix:{_run["lost.sock"]}, which cannot be reached", attempt));

        // The guest moved: the proxy's next attempt is redirected to n1 itself, and it serves.
        var moved = await ControlClient.SendAsync(nodes.Control("n1"), new ControlProtocol.Request("attach", "gp", Value: "n1/soft0"), Timeout);
        Assert.True(moved.Ok, moved.Message);
        await proxy.WaitForFileAsync(_run["proxy.sock"], Timeout);
        var run = await _run.Run("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["proxy.sock"]}", "--size", "32", "--iterations", "1");
        Assert.True(run.ExitCode == 0 && run.Stdout.Contains("verified"), run.Stdout + run.Stderr);
    }

    private static List<string> Attempts(string stderr) =>
        stderr.Split('\n').Where(l => l.StartsWith(Waiting, StringComparison.Ordinal)).Select(l => l.TrimEnd()).ToList();

    public void Dispose() => _run.Dispose();
}
