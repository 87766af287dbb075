using Akka.Hosting;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Pool;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors;

/// <summary>Akka.Hosting composition of the two processes; tests boot the same pieces.</summary>
public static class PvDrmHosting
{
    /// <summary>The host daemon: <c>/user/pvdrm</c> on <paramref name="devices"/>, registered as <see cref="PvDrmHost"/>.</summary>
    /// <param name="cluster">Enabled: this host is a node of a pool (Akka.Cluster, CLUSTER.md).</param>
    /// <param name="reload">Reads the configuration again for `pvdrm-host reload` and SIGHUP.</param>
    public static AkkaConfigurationBuilder WithPvDrmHost(this AkkaConfigurationBuilder builder, HostSettings settings, HostDevices devices,
        Admission? admission = null, Host.Pool.ClusterSettings? cluster = null, SettingsReload? reload = null)
    {
        if (cluster is { Enabled: true }) builder.WithPvDrmPool(cluster);
        return builder.WithActors((system, registry) =>
            registry.Register<PvDrmHost>(system.ActorOf(PvDrmHost.Props(settings, devices, admission, cluster, reload), PvDrmHost.Name)));
    }

    /// <summary>The guest proxy: <c>/user/proxy</c> over an established host link, registered as <see cref="GuestProxy"/>.</summary>
    public static AkkaConfigurationBuilder WithPvDrmGuest(this AkkaConfigurationBuilder builder, ProxySettings settings, UpstreamLink upstream, Action<string> onUpstreamLost) =>
        builder.WithActors((system, registry) =>
            registry.Register<GuestProxy>(system.ActorOf(GuestProxy.Props(settings, upstream, onUpstreamLost), GuestProxy.Name)));
}
