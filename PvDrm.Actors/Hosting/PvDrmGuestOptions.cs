using System.Text;
using Akka.Configuration;
using PvDrm.Actors.Guest;

namespace PvDrm.Actors;

/// <summary>
/// What <see cref="PvDrmHosting.WithPvDrmGuest(Akka.Hosting.AkkaConfigurationBuilder, Action{PvDrmGuestOptions})"/>
/// starts: the guest proxy, configured as <see cref="PvDrmHostOptions"/> configures the host
/// (set properties become <c>pvdrm.guest.*</c> HOCON over <see cref="Config"/> over reference.conf).
/// </summary>
public sealed class PvDrmGuestOptions
{
    /// <summary>A whole configuration beneath the properties (the executable's `--config` layers); null: reference.conf alone.</summary>
    public Config? Config { get; set; }

    /// <summary>The host (or another proxy): unix:PATH, tcp:HOST:PORT or vsock:CID:PORT (<c>host</c>).</summary>
    public string? Host { get; set; }

    /// <summary>Where applications connect, unix:PATH (<c>listen</c>).</summary>
    public string? Listen { get; set; }

    /// <summary>This guest's name in HELLO (<c>name</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The token presented in HELLO (<c>token</c>).</summary>
    public string? Token { get; set; }

    /// <summary>The proxy's admin socket path (<c>control.unix</c>); "" none.</summary>
    public string? ControlUnix { get; set; }

    /// <summary>The render node for unmodified DRM programs, unix:PATH (<c>shim.unix</c>); "" off.</summary>
    public string? ShimUnix { get; set; }

    /// <summary>PVDRM's front-end GEM cache (<c>cache.enabled</c>).</summary>
    public bool? Cache { get; set; }

    /// <summary>Any other key under <c>pvdrm.guest</c>, e.g. <c>["upstream.window"] = "128"</c>: HOCON values as written.</summary>
    public IDictionary<string, string> Extra { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// A link to the host already made (the executable retries until its host is there); null: the
    /// proxy connects once when the actor system starts, and start-up fails if the host is not there.
    /// </summary>
    public UpstreamLink? Upstream { get; set; }

    /// <summary>Told why, when the connection to the host is lost (the proxy cannot serve without it).</summary>
    public Action<string>? UpstreamLost { get; set; }

    /// <summary>The properties that are set, as HOCON lines under <c>pvdrm.guest</c>.</summary>
    public string ToHocon()
    {
        var hocon = new StringBuilder();
        Line(hocon, "host", Host);
        Line(hocon, "listen", Listen);
        Line(hocon, "name", Name);
        Line(hocon, "token", Token);
        Line(hocon, "control.unix", ControlUnix);
        Line(hocon, "shim.unix", ShimUnix);
        Line(hocon, "cache.enabled", Cache is { } c ? (c ? "on" : "off") : null);
        foreach (var (key, value) in Extra) hocon.Append(ProxySettings.Root).Append('.').Append(key).Append(" = ").AppendLine(value);
        return hocon.ToString();
    }

    /// <summary>The properties over <see cref="Config"/> over reference.conf: what the proxy's settings are read from.</summary>
    public Config ToConfig() => PvDrmHostOptions.Layered(ToHocon(), Config);

    private static void Line(StringBuilder hocon, string key, string? value)
    {
        if (value != null) hocon.Append(ProxySettings.Root).Append('.').Append(key).Append(" = ").AppendLine(System.Text.Json.JsonSerializer.Serialize(value));
    }
}
