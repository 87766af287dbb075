using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PvDrm.Host.DevicePlugin;

/// <summary>The plugin's gRPC server (v1beta1.DevicePlugin) on its socket in the kubelet's folder.</summary>
internal sealed class PluginServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PluginServer(WebApplication app) => _app = app;

    public static async Task<PluginServer> StartAsync(string path, ShareBoard board, PluginContext context, CancellationToken ct)
    {
        // A socket left by an earlier run (or removed by a restarting kubelet) is replaced.
        File.Delete(path);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(path, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(board);
        builder.Services.AddSingleton(context);
        var app = builder.Build();
        app.MapGrpcService<DevicePluginService>();
        await app.StartAsync(ct);
        return new PluginServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        // Open ListAndWatch streams end with the server; a stop is bounded so a stuck one cannot hold the plugin.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(bound.Token);
        await _app.DisposeAsync();
    }
}
