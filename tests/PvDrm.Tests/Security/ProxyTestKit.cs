using System.Net;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Shim;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// What the proxy isolation tests share: a host on a Unix socket, a proxy of guest "vm" in front
/// of it (listening, with its control socket, in a temporary directory), and the proxy's status.
/// </summary>
public abstract class ProxyTestKit : TestKit, IDisposable
{
    private protected TempDir Dir { get; } = new();

    private protected async Task<string> ProxyAsync(HostHarness host, ProxySettings settings)
    {
        settings = settings with { Listen = $"unix:{Dir["vm.sock"]}", Name = settings.Name.Length > 0 ? settings.Name : "vm", ControlUnix = Dir["vm-control.sock"] };
        var upstream = await UpstreamLink.ConnectAsync(settings).WaitAsync(HostHarness.Timeout);
        Sys.ActorOf(GuestProxy.Props(settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(Dir["vm.sock"]) && File.Exists(Dir["vm-control.sock"]), HostHarness.Timeout, HostHarness.Poll);
        return $"unix:{Dir["vm.sock"]}";
    }

    private protected Task<string> UnixProxyAsync(HostHarness host, NameSharing sharing = NameSharing.Application, bool cache = false)
    {
        AwaitCondition(() => File.Exists(Dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        return ProxyAsync(host, new ProxySettings
        {
            Host = $"unix:{Dir["host.sock"]}", Name = "vm", Sharing = sharing, Cache = new GemCacheOptions { Enabled = cache },
        });
    }

    private protected HostHarness UnixHost(SoftGpuOptions? gpu = null) => new(this, new HostSettings { ListenUnix = Dir["host.sock"] }, gpu);

    private protected ControlProtocol.ProxyStatus Status() =>
        ControlClient.SendAsync(Dir["vm-control.sock"], new ControlProtocol.Request("status"), HostHarness.Timeout).GetAwaiter().GetResult().Proxy!;

    public new void Dispose()
    {
        base.Dispose();
        Dir.Dispose();
    }
}
