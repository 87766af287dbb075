using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Guest;
using PvDrm.Host;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using Serilog.Events;

namespace PvDrm.Tests.Hosting;

/// <summary>
/// The compositions booted in this process as the executables and an embedding application boot
/// them: the generic host with WithPvDrmHost / WithPvDrmGuest, real socket files, DrmClient over
/// them, and a clean stop.
/// </summary>
public class CompositionTests : IDisposable
{
    private static readonly TimeSpan Timeout = HostHarness.Timeout;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_executables_composition_serves_a_gem_round_trip_directly_and_through_the_proxy_and_stops_cleanly()
    {
        using var cts = new CancellationTokenSource(Timeout * 2);
        // What `pvdrm-host serve --listen ... ` reads: the reference, no file, these flags.
        var hostConfig = PvDrmConfig.Load(null, PvDrmConfig.Overrides(HostSettings.Root,
            ("listen.unix", _dir["host.sock"]), ("control.unix", _dir["control.sock"])));
        using var host = HostCommands.BuildHost(hostConfig, LogEventLevel.Warning);
        string[] listening = await HostCommands.StartListeningAsync(host, cts.Token);
        Assert.Contains(listening, l => l.Contains(_dir["host.sock"], StringComparison.Ordinal));

        await using (var client = await DrmClient.ConnectAsync($"unix:{_dir["host.sock"]}", new DrmClientOptions { Name = "direct" }, cts.Token))
            await GemRoundTripAsync(client);

        // What `pvdrm-guest serve` reads, on a link made as serve makes it.
        var guestConfig = PvDrmConfig.Load(null, PvDrmConfig.Overrides(ProxySettings.Root,
            ("host", $"unix:{_dir["host.sock"]}"), ("listen", $"unix:{_dir["guest.sock"]}"), ("name", "vm1")));
        var upstream = await UpstreamLink.ConnectAsync(ProxySettings.Create(guestConfig), cts.Token);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var proxy = GuestCommands.BuildProxy(guestConfig, upstream, why => lost.TrySetResult(why));
        await proxy.StartAsync(cts.Token);
        await ProxyReadyAsync(proxy, cts.Token);

        await using (var app = await DrmClient.ConnectAsync($"unix:{_dir["guest.sock"]}", new DrmClientOptions { Name = "app" }, cts.Token))
            await GemRoundTripAsync(app);

        var status = await HostStatusAsync(host, cts.Token);
        Assert.Contains(status.Guests, g => g.Name == "vm1");

        await proxy.StopAsync(cts.Token);
        await proxy.Services.GetRequiredService<ActorSystem>().WhenTerminated.WaitAsync(cts.Token);
        await host.StopAsync(cts.Token);
        await host.Services.GetRequiredService<ActorSystem>().WhenTerminated.WaitAsync(cts.Token);
        Assert.False(lost.Task.IsCompleted, "the proxy was stopped, not cut off from its host");
        // Stopped means no longer listening: a new guest is refused.
        var refused = await Assert.ThrowsAnyAsync<ErrnoException>(() =>
            DrmClient.ConnectAsync($"unix:{_dir["host.sock"]}", new DrmClientOptions { Name = "late" }, cts.Token));
        Assert.True(refused.Errno is Errno.ENOENT or Errno.ECONNREFUSED, refused.Message);
    }

    [Fact]
    public async Task An_embedding_application_configures_host_and_proxy_with_typed_options_over_reference_conf()
    {
        using var cts = new CancellationTokenSource(Timeout * 2);
        var hostBuilder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        hostBuilder.Services.AddAkka("pvdrm", b => b.WithPvDrmHost(o =>
        {
            o.Listen = $"unix:{_dir["host.sock"]}";
            o.ControlUnix = "";
            o.Sequential = true;
        }));
        using var host = hostBuilder.Build();
        await HostCommands.StartListeningAsync(host, cts.Token);

        // No link given: the proxy makes its own as its actor system starts.
        var guestBuilder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        guestBuilder.Services.AddAkka("pvdrm-guest", b => b.WithPvDrmGuest(o =>
        {
            o.Host = $"unix:{_dir["host.sock"]}";
            o.Listen = $"unix:{_dir["guest.sock"]}";
            o.Name = "vm1";
            o.Extra["contexts-per-application"] = "2";
        }));
        using var proxy = guestBuilder.Build();
        await proxy.StartAsync(cts.Token);
        await ProxyReadyAsync(proxy, cts.Token);

        await using (var app = await DrmClient.ConnectAsync($"unix:{_dir["guest.sock"]}", new DrmClientOptions { Name = "app" }, cts.Token))
        {
            await GemRoundTripAsync(app);
            // The option reached the proxy's settings: two contexts open, a third refused naming the key.
            await app.OpenContextAsync();
            await app.OpenContextAsync();
            var refused = await Assert.ThrowsAsync<DrmException>(() => app.OpenContextAsync());
            Assert.Equal(Errno.EMFILE, refused.Errno);
            Assert.Contains("pvdrm.guest.contexts-per-application", refused.Message, StringComparison.Ordinal);
        }
        // ...and Sequential = true reached the host's.
        Assert.Equal("sequential", (await HostStatusAsync(host, cts.Token)).Mode);

        await proxy.StopAsync(cts.Token);
        await host.StopAsync(cts.Token);
        await host.Services.GetRequiredService<ActorSystem>().WhenTerminated.WaitAsync(cts.Token);
    }

    /// <summary>GEM_NEW, GEM_WRITE, GEM_READ, GEM_CLOSE: the bytes come back as written.</summary>
    private static async Task GemRoundTripAsync(DrmClient client)
    {
        await using var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);
        byte[] written = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray(), read = new byte[4096];
        await gem.WriteAsync(0, written).WaitAsync(Timeout);
        await gem.ReadAsync(0, read).WaitAsync(Timeout);
        Assert.Equal(written, read);
        await gem.CloseAsync().WaitAsync(Timeout);
    }

    /// <summary>The proxy answers only after its PreStart made the listening socket (as serve waits for it).</summary>
    private static Task ProxyReadyAsync(IHost proxy, CancellationToken ct) =>
        proxy.Services.GetRequiredService<ActorRegistry>().Get<GuestProxy>()
            .Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), Timeout, ct);

    private static async Task<ControlProtocol.HostStatus> HostStatusAsync(IHost host, CancellationToken ct) =>
        (await host.Services.GetRequiredService<ActorRegistry>().Get<PvDrmHost>()
            .Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), Timeout, ct)).Status!;
}
