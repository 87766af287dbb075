using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Transport;

/// <summary>Guests over TCP (and vsock where the kernel can loop it back): same protocol, tokens, no mapping.</summary>
public class RemoteGuestTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    private HostHarness Host(string? vsock = null)
    {
        File.WriteAllText(_dir["tokens"], "remote s3cret\nvm s3cret\n");
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new HostHarness(this, new HostSettings
        {
            ListenUnix = null,
            ListenTcp = new IPEndPoint(IPAddress.Loopback, 0),
            ListenVsock = vsock == null ? null : (Native.Io.StreamSocket.VsockAnyCid, uint.Parse(vsock)),
            Auth = new AuthSettings { TokensFile = _dir["tokens"], SameUid = false },
        });
    }

    private string TcpEndpoint(HostHarness host)
    {
        string[] listening = Array.Empty<string>();
        AwaitCondition(() => (listening = host.Host.Ask<string[]>(PvDrmHost.GetListening.Instance).GetAwaiter().GetResult()).Length > 0,
            HostHarness.Timeout, HostHarness.Poll);
        return listening.Single(l => l.StartsWith("tcp:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_guest_over_tcp_with_its_token_runs_a_verified_workload_through_the_copy_path()
    {
        var host = Host();
        await using var client = await DrmClient.ConnectAsync(TcpEndpoint(host), new DrmClientOptions { Name = "remote", Token = "s3cret" });

        Assert.False(client.CanMap);
        var result = await new GemmWorkload { Size = 64, Iterations = 2 }.RunAsync(client);
        Assert.True(result.Verified, result.Error);
        Assert.Equal("copy", result.DataPath);

        var gem = await (await client.OpenContextAsync()).GemNewAsync(4096);
        var map = await Assert.ThrowsAsync<DrmException>(() => gem.MapAsync());
        Assert.Equal(Errno.EOPNOTSUPP, map.Errno);
        Assert.Contains("tcp connection cannot carry", map.Message);
        var status = host.GuestStatus("remote");
        Assert.Equal("tcp", status.Transport);
        Assert.StartsWith("tcp:127.0.0.1:", status.Peer);
    }

    [Fact]
    public async Task A_guest_over_tcp_without_its_token_is_refused()
    {
        var host = Host();
        var error = await Assert.ThrowsAsync<DrmException>(() => DrmClient.ConnectAsync(TcpEndpoint(host), new DrmClientOptions { Name = "remote" }));
        Assert.Equal(Errno.EACCES, error.Errno);
        Assert.Contains("the transport has no peer uid", error.Message);
    }

    [Fact]
    public async Task Applications_behind_a_proxy_on_a_tcp_host_link_are_told_they_cannot_map()
    {
        var host = Host();
        var settings = new ProxySettings { Host = TcpEndpoint(host), Listen = $"unix:{_dir["vm.sock"]}", Name = "vm", Token = "s3cret" };
        var upstream = await UpstreamLink.ConnectAsync(settings);
        Sys.ActorOf(GuestProxy.Props(settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(_dir["vm.sock"]), HostHarness.Timeout, HostHarness.Poll);

        await using var app = await DrmClient.ConnectAsync($"unix:{_dir["vm.sock"]}");
        Assert.False(app.CanMap);
        var result = await new GemmWorkload { Size = 48, Iterations = 1 }.RunAsync(app);
        Assert.True(result.Verified, result.Error);
        Assert.Equal("copy", result.DataPath);
    }

    [Fact]
    public void A_tcp_listener_without_tokens_stops_start_up_naming_the_key()
    {
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            HostSettings.Create(Actors.PvDrmConfig.Load(null, "pvdrm.host.listen.tcp = \"127.0.0.1:7000\"")));
        Assert.Contains("pvdrm.host.listen.tcp", error.Message);
        Assert.Contains("tokens-file", error.Message);
    }

    [VsockLoopbackFact]
    public async Task A_guest_over_vsock_runs_a_verified_workload()
    {
        var host = Host(vsock: "17001");
        AwaitCondition(() => host.Host.Ask<string[]>(PvDrmHost.GetListening.Instance).GetAwaiter().GetResult().Any(l => l.StartsWith("vsock:")),
            HostHarness.Timeout, HostHarness.Poll);
        await using var client = await DrmClient.ConnectAsync("vsock:1:17001", new DrmClientOptions { Name = "remote", Token = "s3cret" });
        var result = await new GemmWorkload { Size = 32, Iterations = 1 }.RunAsync(client);
        Assert.True(result.Verified, result.Error);
        Assert.Equal("vsock", host.GuestStatus("remote").Transport);
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}

/// <summary>Runs only where the kernel loops vsock back to this machine (vsock_loopback); skipped with the reason otherwise.</summary>
public sealed class VsockLoopbackFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(Probe);

    public VsockLoopbackFactAttribute()
    {
        if (s_missing.Value is { } reason) Skip = reason;
    }

    private static string? Probe()
    {
        try
        {
            using var listener = Native.Io.StreamListener.Vsock(Native.Io.StreamSocket.VsockAnyCid, 17999, (fd, _) => fd.Dispose());
            using var fd = Native.Io.StreamSocket.ConnectVsock(1, 17999, TimeSpan.FromSeconds(2));
            return null;
        }
        catch (ErrnoException e)
        {
            return $"no vsock loopback on this machine (CID 1, the vsock_loopback module): {e.Message}";
        }
    }
}
