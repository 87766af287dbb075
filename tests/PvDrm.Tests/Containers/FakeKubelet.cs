using System.Threading.Channels;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PvDrm.Host.DevicePlugin.V1Beta1;

namespace PvDrm.Tests.Containers;

/// <summary>
/// The kubelet's side of the device plugin API, as far as a plugin sees it: the v1beta1
/// Registration service on kubelet.sock in the device-plugin folder, over real gRPC. Each
/// registration arrives on <see cref="Registrations"/>.
/// </summary>
internal sealed class FakeKubelet : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeKubelet(WebApplication app, Channel<RegisterRequest> registrations)
    {
        _app = app;
        Registrations = registrations.Reader;
    }

    public ChannelReader<RegisterRequest> Registrations { get; }

    public static async Task<FakeKubelet> StartAsync(string socketDir, Channel<RegisterRequest>? registrations = null)
    {
        registrations ??= Channel.CreateUnbounded<RegisterRequest>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(Path.Combine(socketDir, "kubelet.sock"), l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(registrations);
        var app = builder.Build();
        app.MapGrpcService<RegistrationService>();
        await app.StartAsync();
        return new FakeKubelet(app, registrations);
    }

    /// <summary>Stops serving and removes kubelet.sock, as a kubelet that went down.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class RegistrationService(Channel<RegisterRequest> registrations) : Registration.RegistrationBase
    {
        public override Task<Empty> Register(RegisterRequest request, ServerCallContext context)
        {
            if (request.Version != "v1beta1") throw new RpcException(new Status(StatusCode.InvalidArgument, $"version {request.Version} is not supported"));
            registrations.Writer.TryWrite(request);
            return Task.FromResult(new Empty());
        }
    }
}
