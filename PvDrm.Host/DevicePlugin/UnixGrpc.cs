using System.Net.Sockets;
using Grpc.Net.Client;

namespace PvDrm.Host.DevicePlugin;

/// <summary>gRPC channels over a Unix socket, as the kubelet and its plugins talk.</summary>
public static class UnixGrpc
{
    /// <summary>A channel whose every connection goes to the socket at <paramref name="path"/>.</summary>
    public static GrpcChannel Channel(string path) => GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
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
        },
    });
}
