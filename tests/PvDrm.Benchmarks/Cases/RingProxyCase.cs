using PvDrm.Actors.Host.Control;
using PvDrm.Benchmarks.Harness;
using PvDrm.Client;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// GEM_INFO from an application on the shared-memory ring behind a guest proxy (pvdrm-guest serve)
/// on the ring to the host: two ring hops. Interleaved block by block with the same op through a
/// proxy that keeps both hops on the sockets, and with the C busy-polled SEQPACKET ping-pong of the
/// limits case (Limits/seqpacket_pingpong.c), so the ratios come from one run.
/// </summary>
public sealed class RingProxyCase : BenchCase
{
    public override string Name => "ring-proxy";

    public override string Title => "GEM_INFO through a proxy, ring on both hops vs sockets vs C busy-polled SEQPACKET";

    public override IReadOnlyList<string> Keys =>
        ["ring_proxy_rtt_us", "socket_proxy_gem_info_rtt_us", "ring_proxy_over_socket_proxy", "ring_proxy_over_c_poll"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host, two guest proxies, compiling the C ping-pongs");
        var host = await c.Env.MainHostAsync();
        string name = c.Env.NewName("bench-ring-proxy"), control = Path.Combine(c.Env.Dir, $"{name}.control");
        var (ringProxy, ringEndpoint) = await c.Env.StartProxyAsync(host, name, $"pvdrm.guest.control.unix = \"{control}\"\npvdrm.guest.ring.enabled = on\n");
        var (socketProxy, socketEndpoint) = await c.Env.StartProxyAsync(host, c.Env.NewName("bench-socket-proxy"), "pvdrm.guest.ring.enabled = off\n");
        try
        {
            var app = await c.Env.ConnectAsync(ringEndpoint, "bench-ring-app");
            var plain = await c.Env.ConnectAsync(socketEndpoint, "bench-socket-app", ring: false);
            var status = await ControlClient.SendAsync(control, new ControlProtocol.Request("status"), TimeSpan.FromSeconds(10));
            if (!app.OnRing || status.Proxy?.UpstreamOnRing != true)
                throw new InvalidOperationException($"not on the ring on both hops: application {app.OnRing}, proxy to host {status.Proxy?.UpstreamOnRing} (pvdrm.guest.ring, pvdrm.host.ring)");
            var limits = await c.Env.CPingPongAsync();
            var onRing = await (await app.OpenContextAsync()).GemNewAsync(4096);
            var onSocket = await (await plain.OpenContextAsync()).GemNewAsync(4096);

            var paths = new List<BlockPath> { Measure.Timed(() => onRing.InfoAsync()), Measure.Timed(() => onSocket.InfoAsync()) };
            if (limits.WhyNot == null) paths.Add(limits.SeqpacketPoll);
            c.Status("measuring");
            var r = await Measure.InterleaveAsync(paths, c.Settings.LimitsPerBlock, c.Settings.LimitsBlocks, c);

            c.Report.Latency(Name, "ring_proxy_rtt_us", r.All(0), "GEM_INFO: DrmClient -ring-> pvdrm-guest serve -ring-> pvdrm-host, one at a time");
            c.Report.Latency(Name, "socket_proxy_gem_info_rtt_us", r.All(1), "the same through a proxy with pvdrm.guest.ring off (sockets on both hops)");
            c.Report.Ratio(Name, "ring_proxy_over_socket_proxy", r.Ratio(0, 1), "ring hops / socket hops, per block");
            if (limits.WhyNot is { } why) c.Report.Failed(Name, "ring_proxy_over_c_poll", why);
            else c.Report.Ratio(Name, "ring_proxy_over_c_poll", r.Ratio(0, 2), "two ring hops / C busy-polled SEQPACKET (one hop), per block");
        }
        finally
        {
            await ringProxy.StopAsync(TimeSpan.FromSeconds(5));
            await socketProxy.StopAsync(TimeSpan.FromSeconds(5));
        }
    }
}
