using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Discovery.Config.Hosting;
using Akka.Hosting;
using Akka.Management.Cluster.Bootstrap;
using Akka.Remote.Hosting;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// A pool node's Akka composition (CLUSTER.md): remoting and clustering through Akka.Remote.Hosting
/// and Akka.Cluster.Hosting's typed options, mutual TLS (<see cref="PoolTls"/>), joining by seed
/// nodes or by Cluster Bootstrap, and the few settings those options do not carry.
/// </summary>
public static class PoolHosting
{
    /// <summary>The cluster role every pool node has.</summary>
    public const string Role = "pvdrm-host";

    public static AkkaConfigurationBuilder WithPvDrmPool(this AkkaConfigurationBuilder builder, ClusterSettings cluster)
    {
        if (cluster.StateDirectory.Length > 0) PlacementStore.CheckLibrary();
        builder.WithRemoting(Remoting(cluster));
        builder.WithClustering(new ClusterOptions
        {
            Roles = [Role],
            SeedNodes = cluster.SeedNodes.Count > 0 ? cluster.SeedNodes.Select(cluster.SeedAddress).ToArray() : null,
            MinimumNumberOfMembers = 1,
            SplitBrainResolver = new KeepMajorityOption(),
            // Failover = failure-detection (unreachable) + down-after (stable, then downed) + a leader tick.
            FailureDetector = new PhiAccrualFailureDetectorOptions
            {
                HeartbeatInterval = ClusterSettings.HeartbeatInterval,
                AcceptableHeartbeatPause = cluster.FailureDetection,
                ExpectedResponseAfter = ClusterSettings.HeartbeatInterval,
            },
        });
        builder.AddHocon(UntypedHocon(cluster), HoconAddMode.Prepend);
        if (cluster.Bootstrap.Enabled) builder.WithBootstrap(cluster.Bootstrap);
        return builder;
    }

    private static RemoteOptions Remoting(ClusterSettings cluster)
    {
        var remote = new RemoteOptions
        {
            HostName = cluster.Hostname,
            Port = cluster.Port,
            PublicHostName = cluster.AdvertisedHostname,
            EnableSsl = cluster.Tls.Enabled,
        };
        if (cluster.Tls.Enabled) PoolTls.Configure(remote.Ssl, cluster.Tls);
        return remote;
    }

    /// <summary>
    /// Cluster Bootstrap with configuration discovery; the management endpoint it probes on each
    /// node is <see cref="BootstrapEndpoint"/>, which serves bootstrap's route and nothing else.
    /// </summary>
    private static void WithBootstrap(this AkkaConfigurationBuilder builder, ClusterBootstrapSettings bootstrap)
    {
        builder.WithConfigDiscovery(new ConfigServiceDiscoveryOptions
        {
            Services = [new Service { Name = bootstrap.ServiceName, Endpoints = bootstrap.Endpoints.ToArray() }],
        });
        builder.WithClusterBootstrap(new ClusterBootstrapOptions
        {
            ContactPointDiscovery =
            {
                ServiceName = bootstrap.ServiceName,
                DiscoveryMethod = "config",
                RequiredContactPointsNr = bootstrap.RequiredContactPoints,
                ContactWithAllContactPoints = true,
            },
            // Endpoints are listed with their ports, several may share a host: keep every one.
            ContactPoint = { FilterOnFallbackPort = false },
        }, autoStart: false);
        builder.AddStartup((system, _) => BootstrapEndpoint.Start(system, bootstrap));
    }

    private static string Ms(TimeSpan t) => $"{(long)t.TotalMilliseconds}ms";

    /// <summary>
    /// What the typed options cannot express: the split-brain resolver's stable-after (KeepMajorityOption
    /// has no such property), the cluster's tick intervals, Akka.DistributedData's gossip and durable
    /// store, the remoting retry gate, and the serializer bindings (ours replace Akka's JSON and misc
    /// serializers, so nothing from the wire builds an arbitrary type or deploys an actor).
    /// </summary>
    private static string UntypedHocon(ClusterSettings cluster)
    {
        string durable = cluster.StateDirectory.Length == 0 ? "" : $$"""
            akka.cluster.distributed-data.durable {
              keys = ["{{PlacementTable.Key.Id}}"]
              store-actor-class = "{{typeof(PlacementStore).FullName}}, PvDrm.Actors"
              pvdrm-lmdb { dir = "{{cluster.PlacementsDirectory.Replace("\\", "\\\\").Replace("\"", "\\\"")}}", map-size = 64 MiB }
            }
            """;
        return $$"""
            akka.cluster {
              split-brain-resolver.stable-after = {{Ms(cluster.DownAfter)}}
              unreachable-nodes-reaper-interval = 250ms
              leader-actions-interval = 250ms
              gossip-interval = 250ms
            }
            akka.cluster.distributed-data { gossip-interval = 500ms, notify-subscribers-interval = 100ms }
            {{durable}}
            # A seed that is not up yet is retried after a second, not five.
            akka.remote.retry-gate-closed-for = 1s
            akka.actor.serializers {
              json = "{{typeof(LocalOnlySerializer).FullName}}, PvDrm.Actors"
              daemon-create = "{{typeof(LocalOnlySerializer).FullName}}, PvDrm.Actors"
              akka-misc = "{{typeof(GuardedMiscSerializer).FullName}}, PvDrm.Actors"
            }
            """;
    }
}
