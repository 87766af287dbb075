using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PvDrm.Benchmarks.Grpc;

namespace PvDrm.Benchmarks.Peers;

/// <summary>
/// The gRPC peer of GET_PARAM: `pvdrm-bench --grpc-server PATH` serves Param.GetParam with Kestrel
/// over HTTP/2 on a Unix socket (Grpc.AspNetCore); the client is Grpc.Net.Client whose
/// SocketsHttpHandler connects to that socket.
/// </summary>
public static class GrpcPeer
{
    public static async Task<int> RunServerAsync(string path, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(path, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<ParamService>();
        await app.StartAsync(ct);
        Console.WriteLine("ready");
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    private sealed class ParamService : Param.ParamBase
    {
        public override Task<ParamReply> GetParam(ParamRequest request, ServerCallContext context) =>
            Task.FromResult(new ParamReply { Value = 2 });
    }

    public static (GrpcChannel Channel, Param.ParamClient Client) Connect(string path)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        return (channel, new Param.ParamClient(channel));
    }
}
