using Akka.Actor;
using Akka.Hosting;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Pool;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors;

/// <summary>
/// Akka.Hosting composition of the two processes, as Akka's own modules do it: an options class
/// whose set properties become HOCON over reference.conf. The executables, an embedding
/// application (<c>services.AddAkka("pvdrm", b =&gt; b.WithPvDrmHost(o =&gt; ...))</c>) and the
/// tests boot the same call.
/// </summary>
public static class PvDrmHosting
{
    /// <summary>The host daemon: <c>/user/pvdrm</c>, registered as <see cref="PvDrmHost"/>.</summary>
    public static AkkaConfigurationBuilder WithPvDrmHost(this AkkaConfigurationBuilder builder, Action<PvDrmHostOptions> configure)
    {
        var options = new PvDrmHostOptions();
        configure(options);
        return builder.WithPvDrmHost(options);
    }

    /// <summary>
    /// The host daemon from <paramref name="options"/>. Every setting is read here, so a bad value
    /// stops the composition with its key; the devices open when the actor system starts, and the
    /// host disposes them when it stops.
    /// </summary>
    public static AkkaConfigurationBuilder WithPvDrmHost(this AkkaConfigurationBuilder builder, PvDrmHostOptions options)
    {
        var config = options.ToConfig();
        var settings = HostSettings.Create(config);
        var admission = Admission.Load(settings.Auth);
        var cluster = Host.Pool.ClusterSettings.Create(config);
        var reload = options.Reload ?? new SettingsReload(() => HostSettings.Create(options.ToConfig()));
        var notes = options.DeviceNotes ?? (line => Console.Error.WriteLine($"pvdrm-host: {line}"));
        // The pvdrm keys (and the device dispatcher) belong to the actor system's configuration too.
        builder.AddHocon(config, HoconAddMode.Prepend);
        if (cluster is { Enabled: true }) builder.WithPvDrmPool(cluster);
        return builder.WithActors((system, registry) =>
        {
            var devices = options.Devices ?? DeviceFactory.CreateAll(settings, notes);
            registry.Register<PvDrmHost>(system.ActorOf(PvDrmHost.Props(settings, devices, admission, cluster, reload), PvDrmHost.Name));
        });
    }

    /// <summary>The guest proxy: <c>/user/proxy</c>, registered as <see cref="GuestProxy"/>.</summary>
    public static AkkaConfigurationBuilder WithPvDrmGuest(this AkkaConfigurationBuilder builder, Action<PvDrmGuestOptions> configure)
    {
        var options = new PvDrmGuestOptions();
        configure(options);
        return builder.WithPvDrmGuest(options);
    }

    /// <summary>
    /// The guest proxy from <paramref name="options"/>, over <see cref="PvDrmGuestOptions.Upstream"/>
    /// or, when none is given, a link made once as the actor system starts.
    /// </summary>
    public static AkkaConfigurationBuilder WithPvDrmGuest(this AkkaConfigurationBuilder builder, PvDrmGuestOptions options)
    {
        var config = options.ToConfig();
        var settings = ProxySettings.Create(config);
        var lost = options.UpstreamLost ?? (why => Console.Error.WriteLine($"pvdrm-guest: connection to the host lost: {why}"));
        builder.AddHocon(config, HoconAddMode.Prepend);
        return builder.WithActors(new ActorStarter(async (system, registry) =>
        {
            var upstream = options.Upstream ?? await UpstreamLink.ConnectAsync(settings);
            registry.Register<GuestProxy>(system.ActorOf(GuestProxy.Props(settings, upstream, lost), GuestProxy.Name));
        }));
    }
}
