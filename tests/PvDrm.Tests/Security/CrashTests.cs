using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Security;

/// <summary>
/// Guest processes killed with SIGKILL at random points of a workload, repeatedly: afterwards the
/// host holds no object, channel or memfd for them, and a guest running beside them still verifies.
/// </summary>
public class CrashTests : TestKit, IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    private ChildProcess Guest(params string[] args) => _run.Start("pvdrm-guest", args);

    [Fact]
    public async Task Guests_killed_mid_workload_leave_nothing_behind()
    {
        string socket = _run["host.sock"];
        var host = new HostHarness(this, new HostSettings { ListenUnix = socket });
        AwaitCondition(() => File.Exists(socket), HostHarness.Timeout, HostHarness.Poll);
        var random = new Random(20261125);

        var bystander = Guest("run", "gemm", "--host", $"unix:{socket}", "--name", "bystander", "--size", "128", "--iterations", "200", "--json");
        for (int round = 0; round < 4; round++)
        {
            var victims = Enumerable.Range(0, 3).Select(i =>
                Guest("run", "gemm", "--host", $"unix:{socket}", "--name", $"victim-{round}-{i}", "--size", "192", "--iterations", "10000")).ToList();
            // Let them get into their work (connect, allocate, map, submit), then kill them mid-flight.
            AwaitCondition(() => host.Device.GetStats().LiveBuffers >= 10, Timeout, HostHarness.Poll);
            await Task.Delay(random.Next(0, 300));
            foreach (var v in victims) v.Signal(SIGKILL);
            foreach (var v in victims) await v.WaitAsync(Timeout);
        }

        Assert.Equal(0, await bystander.WaitAsync(Timeout));
        Assert.Contains("\"verified\":true", bystander.Stdout);
        host.AwaitDevice(buffers: 0, extra: 0);
        Assert.Equal(0, Leaks.BufferFds(host.Device.Name));
        Assert.Empty(host.Status().Guests);
    }

    [Fact]
    public async Task A_proxy_killed_with_its_applications_mid_workload_leaves_nothing_behind()
    {
        string socket = _run["host.sock"], proxySocket = _run["vm.sock"];
        var host = new HostHarness(this, new HostSettings { ListenUnix = socket });
        AwaitCondition(() => File.Exists(socket), HostHarness.Timeout, HostHarness.Poll);
        var proxy = Guest("serve", "--host", $"unix:{socket}", "--listen", $"unix:{proxySocket}", "--name", "vm");
        await proxy.WaitForFileAsync(proxySocket, Timeout);
        var apps = Enumerable.Range(0, 2).Select(_ =>
            Guest("run", "gemm", "--host", $"unix:{proxySocket}", "--size", "192", "--iterations", "10000")).ToList();
        AwaitCondition(() => host.Device.GetStats().LiveBuffers >= 10, Timeout, HostHarness.Poll);

        proxy.Signal(SIGKILL);

        host.AwaitDevice(buffers: 0, extra: 0);
        Assert.Equal(0, Leaks.BufferFds(host.Device.Name));
        foreach (var app in apps) Assert.NotEqual(0, await app.WaitAsync(Timeout)); // they learn their proxy is gone
    }

    public new void Dispose()
    {
        _run.Dispose();
        base.Dispose();
    }
}
