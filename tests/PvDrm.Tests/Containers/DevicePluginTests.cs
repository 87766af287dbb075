using System.Threading.Channels;
using Grpc.Core;
using PvDrm.Host.DevicePlugin;
using PvDrm.Host.DevicePlugin.V1Beta1;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Containers;

/// <summary>
/// pvdrm-host device-plugin as a process, against a running host and a fake kubelet speaking the
/// real v1beta1 gRPC API over Unix sockets: registration, the share list and its updates,
/// Allocate, re-registration when kubelet.sock is made again, and a pod-like process given a share.
/// </summary>
public class DevicePluginTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();
    private readonly Channel<RegisterRequest> _registrations = Channel.CreateUnbounded<RegisterRequest>();
    private FakeKubelet? _kubelet;
    private global::PvDrm.Host.Demo.ChildProcess? _host;

    private string Plugins => _run["plugins"];

    [Fact]
    public async Task The_plugin_registers_lists_healthy_shares_allocates_and_re_registers_after_the_kubelet_restarts()
    {
        var registration = await StartAll();
        Assert.Equal(("v1beta1", "pvdrm.io/gpu", "pvdrm.io-gpu.sock"), (registration.Version, registration.ResourceName, registration.Endpoint));

        using var channel = UnixGrpc.Channel(Path.Combine(Plugins, registration.Endpoint));
        var plugin = new DevicePlugin.DevicePluginClient(channel);
        var options = await plugin.GetDevicePluginOptionsAsync(new Empty());
        Assert.True(options.GetPreferredAllocationAvailable);
        using var watch = plugin.ListAndWatch(new Empty());
        var list = await NextList(watch, l => l.Devices.All(d => d.Health == "Healthy"));
        Assert.Equal(["soft0-0", "soft0-1"], list.Devices.Select(d => d.ID));

        var preferred = await plugin.GetPreferredAllocationAsync(new PreferredAllocationRequest
        {
            ContainerRequests = { new ContainerPreferredAllocationRequest { AvailableDeviceIDs = { "soft0-0", "soft0-1" }, AllocationSize = 1 } },
        });
        Assert.Single(preferred.ContainerResponses.Single().DeviceIDs);

        var allocated = await plugin.AllocateAsync(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "soft0-1" } } } });
        var answer = allocated.ContainerResponses.Single();
        Assert.Equal("/run/pvdrm/credentials", answer.Envs["PVDRM_CREDENTIALS"]);
        Assert.Equal("/usr/lib/pvdrm/libpvdrm_shim.so", answer.Envs["LD_PRELOAD"]);
        Assert.Contains(answer.Mounts, m => m.HostPath == _run["host.sock"] && m.ContainerPath == "/run/pvdrm/guest.sock");
        Assert.Contains(answer.Mounts, m => m.ContainerPath == "/run/pvdrm/credentials" && m.ReadOnly);
        Assert.DoesNotContain(answer.Envs.Values, v => v.Contains(File.ReadAllText(Path.Combine(_run["shares"], "soft0-1", "token")).Trim()));
        // The allocation is announced on the stream (the list is sent again).
        await NextList(watch, _ => true);

        // Two shares for one container cannot both be mounted: refused, naming the resource.
        var two = await Assert.ThrowsAsync<RpcException>(() => plugin.AllocateAsync(new AllocateRequest
        {
            ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "soft0-0", "soft0-1" } } },
        }).ResponseAsync);
        Assert.Contains("exactly one pvdrm.io/gpu share", two.Status.Detail);

        // The kubelet restarts: its socket goes away and comes back; the plugin registers again.
        await _kubelet!.DisposeAsync();
        File.Delete(Path.Combine(Plugins, "kubelet.sock"));
        _kubelet = await FakeKubelet.StartAsync(Plugins, _registrations);
        var again = await _registrations.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("pvdrm.io-gpu.sock", again.Endpoint);

        // The host goes away: every share turns Unhealthy on a fresh stream of the new server.
        using var channel2 = UnixGrpc.Channel(Path.Combine(Plugins, again.Endpoint));
        using var watch2 = new DevicePlugin.DevicePluginClient(channel2).ListAndWatch(new Empty());
        await NextList(watch2, l => l.Devices.All(d => d.Health == "Healthy"));
        _host!.Signal(Tmds.Linux.LibC.SIGTERM);
        await NextList(watch2, l => l.Devices.All(d => d.Health == "Unhealthy"));
    }

    [ContainerFact]
    public async Task A_pod_started_with_the_allocate_answer_runs_gemm_with_no_flag()
    {
        var registration = await StartAll();
        using var channel = UnixGrpc.Channel(Path.Combine(Plugins, registration.Endpoint));
        var plugin = new DevicePlugin.DevicePluginClient(channel);
        using (var watch = plugin.ListAndWatch(new Empty()))
            await NextList(watch, l => l.Devices.All(d => d.Health == "Healthy"));
        var answer = (await plugin.AllocateAsync(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "soft0-0" } } } }))
            .ContainerResponses.Single();

        var (code, output) = await ContainerRuntime.RunAsync(
            answer.Mounts.Select(m => new ContainerRuntime.Mount(m.HostPath, m.ContainerPath, m.ReadOnly)),
            answer.Envs.Select(e => $"{e.Key}={e.Value}"),
            ContainerRuntime.Guest("run", "gemm", "--size", "32", "--iterations", "2"), Timeout);

        Assert.True(code == 0, output);
        Assert.Contains("verified", output);
    }

    /// <summary>The host, the fake kubelet and the plugin; returns the plugin's first registration.</summary>
    private async Task<RegisterRequest> StartAll()
    {
        Directory.CreateDirectory(Plugins);
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              auth.same-uid = off
            }
            pvdrm.k8s {
              shares-per-device = 2
              socket-dir = "{{Plugins}}"
              shim = "{{ContainerRuntime.Shim}}"
              credentials-dir = "{{_run["shares"]}}"
              health-interval = 100 ms
            }
            """);
        _host = _run.Start("pvdrm-host", "serve", "--config", _run["host.hocon"]);
        await _host.WaitForFileAsync(_run["control.sock"], Timeout);
        _kubelet = await FakeKubelet.StartAsync(Plugins, _registrations);
        var plugin = _run.Start("pvdrm-host", "device-plugin", "--config", _run["host.hocon"]);
        try
        {
            return await _registrations.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the plugin did not register: {plugin.Stderr}");
        }
    }

    /// <summary>The next list on the stream that satisfies <paramref name="wanted"/>.</summary>
    private static async Task<ListAndWatchResponse> NextList(AsyncServerStreamingCall<ListAndWatchResponse> watch, Func<ListAndWatchResponse, bool> wanted)
    {
        using var bound = new CancellationTokenSource(Timeout);
        while (await watch.ResponseStream.MoveNext(bound.Token))
            if (wanted(watch.ResponseStream.Current)) return watch.ResponseStream.Current;
        throw new InvalidOperationException("ListAndWatch ended");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_kubelet != null) await _kubelet.DisposeAsync();
        _run.Dispose();
    }
}
