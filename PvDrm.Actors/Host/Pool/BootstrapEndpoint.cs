using System.Collections.Immutable;
using System.Net;
using System.Text;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Newtonsoft.Json;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// The management endpoint of a bootstrapping node: <c>GET /bootstrap/seed-nodes</c> alone, the
/// answer Akka.Management's own route gives (this node's cluster address and its reachable
/// members), which the other nodes' Cluster Bootstrap probes. Akka.Management serves it through
/// Akka.Http.Shim on Ceen.Httpd 0.9.9; only 0.9.10 is served here, whose changed
/// <c>ListenAsync</c> fails at start (MissingMethodException), so an HttpListener serves it, as
/// the metrics endpoint does. Nothing else is served: no command, no other route.
/// </summary>
internal sealed class BootstrapEndpoint : IDisposable
{
    public const string Route = "/bootstrap/seed-nodes";

    /// <summary>Akka.Management's default cap on the members one answer names.</summary>
    private const int MaxSeedNodesToExpose = 5;

    private readonly HttpListener _listener = new();
    private readonly ActorSystem _system;

    private BootstrapEndpoint(ActorSystem system, ClusterBootstrapSettings settings)
    {
        _system = system;
        string host = settings.Hostname is "0.0.0.0" or "::" ? "+" : settings.Hostname;
        _listener.Prefixes.Add($"http://{host}:{settings.Port}/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException e)
        {
            throw new ConfigurationException($"{ClusterBootstrapSettings.Root}.management.port: cannot listen on {settings.Hostname}:{settings.Port}: {e.Message}");
        }
        _ = HttpAccept.ServeAsync(_listener, Answer);
    }

    /// <summary>Listens, tells Cluster Bootstrap the address it is probed at, and starts it.</summary>
    public static void Start(ActorSystem system, ClusterBootstrapSettings settings)
    {
        var endpoint = new BootstrapEndpoint(system, settings);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "pvdrm-bootstrap-endpoint", () =>
        {
            endpoint.Dispose();
            return Task.FromResult(Done.Instance);
        });
        var bootstrap = ClusterBootstrap.Get(system);
        // Asking for its routes is how Cluster Bootstrap learns its own contact point when they are served by another server.
        bootstrap.Routes(ManagementRouteProviderSettings.Create(new Uri($"http://{settings.AdvertisedHostname}:{settings.Port}/"), readOnly: true));
        _ = bootstrap.Start();
    }

    private async Task Answer(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (context.Request.Url?.AbsolutePath != Route)
                response.StatusCode = 404;
            else if (context.Request.HttpMethod != "GET")
                response.StatusCode = 405;
            else
            {
                response.ContentType = "application/json";
                await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(JsonConvert.SerializeObject(SeedNodes())));
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The prober went away, or the node is stopping.
        }
        finally
        {
            try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
        }
    }

    /// <summary>What Akka.Management's HttpClusterBootstrapRoutes answers: no members while this node leaves.</summary>
    private HttpBootstrapJsonProtocol.SeedNodes SeedNodes()
    {
        var cluster = Cluster.Get(_system);
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return new(self.UniqueAddress.Address, ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty);
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(MaxSeedNodesToExpose)
            .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return new(self.UniqueAddress.Address, members);
    }

    public void Dispose() => _listener.Close();
}
