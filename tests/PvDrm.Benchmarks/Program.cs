using System.CommandLine;
using PvDrm.Benchmarks;

// pvdrm-bench: PvDrm's benchmark against its baselines (issue 5). See README.md.
//   pvdrm-bench [--quick] [--check] [--json FILE] [--only NAME,...]
// and, started by itself as child processes: --echo-server PATH, --grpc-server PATH, --akka-server PORT.
var quick = new Option<bool>("--quick") { Description = "fewer samples: finishes in under 3 minutes on 2 cores" };
var json = new Option<FileInfo?>("--json") { HelpName = "FILE", Description = "write the figures to FILE as one flat JSON object" };
var only = new Option<string?>("--only") { HelpName = "NAME,...", Description = $"run only these cases, comma-separated: {string.Join(",", BenchRunner.AllCases.Select(c => c.Name))}" };
var list = new Option<bool>("--list") { Description = "list the cases and exit" };
var check = new Option<bool>("--check") { Description = "exit 1 when a goal of a case that ran is missed (and print which)" };
var echo = new Option<string?>("--echo-server") { Description = "(internal) serve the raw SEQPACKET echo at PATH", Hidden = true };
var grpc = new Option<string?>("--grpc-server") { Description = "(internal) serve gRPC on the Unix socket PATH", Hidden = true };
var akka = new Option<int?>("--akka-server") { Description = "(internal) serve Akka.Remote on 127.0.0.1:PORT", Hidden = true };
var parent = new Option<int?>("--parent") { Description = "(internal) exit when this process is gone", Hidden = true };

var root = new RootCommand("PvDrm benchmarks: latency, throughput, bandwidth and memory against raw sockets, gRPC, Akka.Remote and in-process SoftGpu")
{
    quick, json, only, list, check, echo, grpc, akka, parent,
};
root.SetAction(async (parse, ct) =>
{
    if (parse.GetValue(echo) is { } echoPath) return await ServerMode.RunAsync(parse.GetValue(parent), c => PvDrm.Benchmarks.Peers.EchoServer.RunAsync(echoPath, c), ct);
    if (parse.GetValue(grpc) is { } grpcPath) return await ServerMode.RunAsync(parse.GetValue(parent), c => PvDrm.Benchmarks.Peers.GrpcPeer.RunServerAsync(grpcPath, c), ct);
    if (parse.GetValue(akka) is { } port) return await ServerMode.RunAsync(parse.GetValue(parent), c => PvDrm.Benchmarks.Peers.AkkaPeer.RunServerAsync(port, c), ct);
    if (parse.GetValue(list))
    {
        foreach (var c in BenchRunner.AllCases) Console.WriteLine($"{c.Name,-11} {c.Title}  ({string.Join(", ", c.Keys)})");
        return 0;
    }
    var names = parse.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    return await new BenchRunner(parse.GetValue(quick), parse.GetValue(json)?.FullName, names, parse.GetValue(check)).RunAsync(ct);
});
return await root.Parse(args).InvokeAsync();
