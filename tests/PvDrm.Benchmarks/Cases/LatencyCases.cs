using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using PvDrm.Benchmarks.Grpc;
using PvDrm.Benchmarks.Harness;
using PvDrm.Benchmarks.Peers;
using PvDrm.Native.Gpu;

namespace PvDrm.Benchmarks.Cases;

/// <summary>GET_PARAM from DrmClient straight to pvdrm-host vs a raw SEQPACKET echo of the same size with the same waiting.</summary>
public sealed class RttCase : BenchCase
{
    public override string Name => "rtt";

    public override string Title => "GET_PARAM round trip vs raw SEQPACKET echo";

    public override IReadOnlyList<string> Keys => ["rtt_us", "raw_uds_rtt_us", "rtt_ratio_vs_raw"];

    /// <summary>Bytes allocated by this process per call, over 2000 sequential calls.</summary>
    private static async Task<double> AllocatedPerCall(Func<Task> call)
    {
        const int n = 2000;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < n; i++) await call();
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)n;
    }

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and the echo server");
        var client = await c.Env.MainClientAsync();
        var raw = await c.Env.RawEchoAsync();
        c.Status("measuring");
        var rt = await Measure.InterleavedAsync(() => client.GetParamAsync(DeviceParam.GraphUnits), () => raw.RoundTripAsync(DeviceParam.GraphUnits),
            c.Settings.RttSamples, c.Settings.RttWarmup, c.Settings.Blocks, c, 0, 0.5);
        var (pv, rw) = rt;
        c.Report.Latency(Name, "rtt_us", pv, "GET_PARAM: DrmClient -> pvdrm-host process, one at a time");
        c.Report.Latency(Name, "raw_uds_rtt_us", rw, "24 B -> 32 B SEQPACKET echo, EventLoop server, TCS per request");
        c.Report.Ratio(Name, "rtt_ratio_vs_raw", rt.Ratio(0, 1), "GET_PARAM / raw echo, per interleaved block");

        // Diagnostic: what each round trip allocates in this (client) process.
        double pvAlloc = await AllocatedPerCall(() => client.GetParamAsync(DeviceParam.GraphUnits));
        double rawAlloc = await AllocatedPerCall(() => raw.RoundTripAsync(DeviceParam.GraphUnits));
        c.Report.Value(Name, "rtt_client_alloc_bytes", pvAlloc, $"{pvAlloc:F0} B", "2000", "diagnostic: bytes this process allocates per GET_PARAM (all threads)");
        c.Report.Value(Name, "raw_uds_client_alloc_bytes", rawAlloc, $"{rawAlloc:F0} B", "2000", "diagnostic: bytes this process allocates per raw echo");

        // Diagnostic: the same echo answered from a thread-pool thread, as the host hands each
        // request from its I/O loop to an actor. Interleaved with GET_PARAM again.
        c.Status("diagnostic: echo with one thread hop");
        var hop = await c.Env.RawEchoHopAsync();
        var hopRt = await Measure.InterleavedAsync(() => client.GetParamAsync(DeviceParam.GraphUnits), () => hop.RoundTripAsync(DeviceParam.GraphUnits),
            c.Settings.RttSamples / 2, c.Settings.RttWarmup, c.Settings.Blocks, c, 0.5, 1);
        c.Report.Latency(Name, "raw_uds_hop_rtt_us", hopRt.All(1), "diagnostic: the echo answered from a thread-pool thread (one hand-off, like I/O loop -> actor)");
        c.Report.Ratio(Name, "rtt_ratio_vs_raw_hop", hopRt.Ratio(0, 1), "GET_PARAM / hop echo, per block (interleaved again)");
    }
}

/// <summary>The same call as unary gRPC over a Unix socket (Kestrel + Grpc.AspNetCore in a child process).</summary>
public sealed class GrpcCase : BenchCase
{
    public override string Name => "grpc";

    public override string Title => "unary gRPC over a Unix socket vs GET_PARAM";

    public override IReadOnlyList<string> Keys => ["grpc_rtt_us", "grpc_over_pvdrm"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and the gRPC server");
        var client = await c.Env.MainClientAsync();
        string path = Path.Combine(c.Env.Dir, "grpc.sock");
        var server = c.Env.StartSelf("--grpc-server", path);
        await server.WaitForFileAsync(path, BenchEnv.StartTimeout);
        var (channel, grpc) = GrpcPeer.Connect(path);
        try
        {
            var request = new ParamRequest { Param = DeviceParam.GraphUnits };
            c.Status("measuring");
            var rt = await Measure.InterleavedAsync(() => client.GetParamAsync(DeviceParam.GraphUnits), () => grpc.GetParamAsync(request).ResponseAsync,
                c.Settings.PeerSamples, c.Settings.RttWarmup, c.Settings.Blocks, c, warmupTime: c.Settings.PeerWarmupTime);
            var (pv, g) = rt;
            c.Report.Latency(Name, "grpc_rtt_us", g, "Grpc.Net.Client -> Kestrel (HTTP/2, UDS) in a child process");
            c.Report.Latency(Name, "grpc_pvdrm_rtt_us", pv, "GET_PARAM, interleaved with the gRPC calls");
            c.Report.Ratio(Name, "grpc_over_pvdrm", rt.Ratio(1, 0), "gRPC / GET_PARAM, per interleaved block");
        }
        finally
        {
            channel.Dispose();
            await server.StopAsync(TimeSpan.FromSeconds(5));
        }
    }
}

/// <summary>The same call as an Akka.Remote Ask between two processes.</summary>
public sealed class AkkaCase : BenchCase
{
    public override string Name => "akka";

    public override string Title => "Akka.Remote Ask between two processes vs GET_PARAM";

    public override IReadOnlyList<string> Keys => ["akka_remote_rtt_us", "akka_remote_over_pvdrm"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and the Akka.Remote server");
        var client = await c.Env.MainClientAsync();
        int port = FreePort();
        var server = c.Env.StartSelf("--akka-server", $"{port}");
        var deadline = DateTime.UtcNow + BenchEnv.StartTimeout;
        while (!server.Stdout.Contains("ready"))
        {
            if (server.HasExited) throw new InvalidOperationException($"the Akka.Remote server exited with {server.ExitCode}: {server.Stderr.Trim()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the Akka.Remote server did not start");
            await Task.Delay(50, c.Ct);
        }
        var (system, param) = await AkkaPeer.ConnectAsync(port);
        try
        {
            var request = new AkkaPeer.GetParam(DeviceParam.GraphUnits);
            var timeout = TimeSpan.FromSeconds(10);
            c.Status("measuring");
            var rt = await Measure.InterleavedAsync(() => client.GetParamAsync(DeviceParam.GraphUnits), () => param.Ask<AkkaPeer.ParamValue>(request, timeout),
                c.Settings.PeerSamples, c.Settings.RttWarmup, c.Settings.Blocks, c, warmupTime: c.Settings.PeerWarmupTime);
            var (pv, a) = rt;
            c.Report.Latency(Name, "akka_remote_rtt_us", a, "Ask over Akka.Remote (DotNetty TCP, 127.0.0.1), child process");
            c.Report.Latency(Name, "akka_pvdrm_rtt_us", pv, "GET_PARAM, interleaved with the Asks");
            c.Report.Ratio(Name, "akka_remote_over_pvdrm", rt.Ratio(1, 0), "Akka.Remote / GET_PARAM, per interleaved block");
        }
        finally
        {
            await system.Terminate();
            await server.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>GET_PARAM through a guest proxy (pvdrm-guest serve) to the host: two hops.</summary>
public sealed class ProxyCase : BenchCase
{
    public override string Name => "proxy";

    public override string Title => "GET_PARAM through a guest proxy (two hops)";

    public override IReadOnlyList<string> Keys => ["proxy_rtt_us"];

    public override async Task RunAsync(CaseContext c)
    {
        c.Status("starting the host and a guest proxy");
        var host = await c.Env.MainHostAsync();
        var direct = await c.Env.MainClientAsync();
        var (proxy, endpoint) = await c.Env.StartProxyAsync(host, c.Env.NewName("bench-proxy"));
        try
        {
            await using var app = await PvDrm.Client.DrmClient.ConnectAsync(endpoint, new PvDrm.Client.DrmClientOptions { Name = "bench-app" });
            c.Status("measuring");
            var rt = await Measure.InterleavedAsync(() => app.GetParamAsync(DeviceParam.GraphUnits), () => direct.GetParamAsync(DeviceParam.GraphUnits),
                c.Settings.RttSamples, c.Settings.RttWarmup, c.Settings.Blocks, c);
            var (px, pv) = rt;
            c.Report.Latency(Name, "proxy_rtt_us", px, "DrmClient -> pvdrm-guest serve -> pvdrm-host, one at a time");
            c.Report.Latency(Name, "proxy_direct_rtt_us", pv, "GET_PARAM straight to the host, interleaved");
            c.Report.Ratio(Name, "proxy_over_direct", rt.Ratio(0, 1), "two hops / one hop, per interleaved block");
        }
        finally
        {
            await proxy.StopAsync(TimeSpan.FromSeconds(5));
        }
    }
}
