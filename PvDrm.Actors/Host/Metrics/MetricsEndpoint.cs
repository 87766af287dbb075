using System.Net;
using System.Text;
using Prometheus;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// The metrics listener's HTTP side: <c>/metrics</c> (Prometheus text), <c>/healthz</c> (alive:
/// the host's actors answer) and <c>/readyz</c> (guests can be served), each probe 200 with
/// <c>ok</c> or 503 with the reason. An HttpListener, as prometheus-net's own MetricServer uses,
/// with the two probes beside the scrape.
/// </summary>
internal sealed class MetricsEndpoint : IDisposable
{
    private const string TextFormat = "text/plain; version=0.0.4; charset=utf-8";
    private readonly HttpListener _listener = new();
    private readonly CollectorRegistry _registry;
    private readonly Func<CancellationToken, Task<string?>> _health;
    private readonly Func<string?> _readiness;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="health">Null when alive, else why not.</param>
    /// <param name="readiness">Null when ready, else why not.</param>
    public MetricsEndpoint(IPEndPoint endpoint, CollectorRegistry registry, Func<CancellationToken, Task<string?>> health, Func<string?> readiness)
    {
        (_registry, _health, _readiness) = (registry, health, readiness);
        if (endpoint.Port == 0) endpoint = new IPEndPoint(endpoint.Address, FreePort(endpoint.Address));
        string host = endpoint.Address.Equals(IPAddress.Any) ? "+" : endpoint.Address.ToString();
        _listener.Prefixes.Add($"http://{host}:{endpoint.Port}/");
        _listener.Start();
        Address = endpoint;
        _ = HttpAccept.ServeAsync(_listener, AnswerAsync, _stop.Token);
    }

    public IPEndPoint Address { get; }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            switch (context.Request.Url?.AbsolutePath)
            {
                case "/metrics":
                    response.ContentType = TextFormat;
                    await _registry.CollectAndExportAsTextAsync(response.OutputStream, _stop.Token);
                    break;
                case "/healthz":
                    await Probe(response, await _health(_stop.Token));
                    break;
                case "/readyz":
                    await Probe(response, _readiness());
                    break;
                default:
                    response.StatusCode = 404;
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The scraper went away, or the host is stopping.
        }
        finally
        {
            try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
        }
    }

    private static async Task Probe(HttpListenerResponse response, string? problem)
    {
        response.StatusCode = problem == null ? 200 : 503;
        response.ContentType = "text/plain; charset=utf-8";
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes((problem ?? "ok") + "\n"));
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new System.Net.Sockets.TcpListener(address, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
    }
}
