using System.Text;
using Akka.Configuration;
using PvDrm.Actors.Host;

namespace PvDrm.Actors;

/// <summary>
/// What <see cref="PvDrmHosting.WithPvDrmHost(Akka.Hosting.AkkaConfigurationBuilder, Action{PvDrmHostOptions})"/>
/// starts, as Akka.Hosting's options do it: every property left null keeps its value from
/// <see cref="Config"/> (a deployment's file), and that from reference.conf; a property that is
/// set becomes a <c>pvdrm.host.*</c> HOCON line over both. The settings classes then read the
/// result, so a bad value is refused with the key it came from, as a bad file value is.
/// </summary>
public sealed class PvDrmHostOptions
{
    /// <summary>A whole configuration beneath the properties (the executable's `--config` layers); null: reference.conf alone.</summary>
    public Config? Config { get; set; }

    /// <summary>The guests' Unix socket, <c>unix:PATH</c> or a path (<c>listen.unix</c>); "" does not listen.</summary>
    public string? Listen { get; set; }

    /// <summary>TCP listener, ADDR:PORT (<c>listen.tcp</c>); needs <see cref="TokensFile"/>.</summary>
    public string? ListenTcp { get; set; }

    /// <summary>AF_VSOCK listener, PORT or CID:PORT (<c>listen.vsock</c>); needs <see cref="TokensFile"/>.</summary>
    public string? ListenVsock { get; set; }

    /// <summary>One request at a time through the gate (<c>sequential</c>).</summary>
    public bool? Sequential { get; set; }

    /// <summary>soft, auto or a DRM node's path (<c>device</c>).</summary>
    public string? Device { get; set; }

    /// <summary>The admin socket's path (<c>control.unix</c>); "" none.</summary>
    public string? ControlUnix { get; set; }

    /// <summary>The "name token" file (<c>auth.tokens-file</c>).</summary>
    public string? TokensFile { get; set; }

    /// <summary>Admit Unix peers of the host's own uid without a token (<c>auth.same-uid</c>).</summary>
    public bool? SameUid { get; set; }

    /// <summary>Prometheus endpoint ADDR:PORT (<c>metrics.listen</c>); "" off.</summary>
    public string? MetricsListen { get; set; }

    /// <summary>Largest frame in either direction (<c>limits.max-frame</c>).</summary>
    public long? MaxFrame { get; set; }

    /// <summary>Any other key under <c>pvdrm.host</c>, e.g. <c>["limits.memory-per-guest"] = "1 GiB"</c>: HOCON values as written.</summary>
    public IDictionary<string, string> Extra { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Reads the configuration again for `reload` and SIGHUP; null: these options, read again.</summary>
    public SettingsReload? Reload { get; set; }

    /// <summary>
    /// Devices already opened from these options' settings (the executables open them before the
    /// host starts, so a device that cannot open ends `serve` with one line naming its key); null:
    /// opened as the actor system starts. The host disposes them when it stops.
    /// </summary>
    public HostDevices? Devices { get; set; }

    /// <summary>Told each line about the devices' start-up (e.g. auto falling back to SoftGpu); null: stderr.</summary>
    public Action<string>? DeviceNotes { get; set; }

    /// <summary>The properties that are set, as HOCON lines under <c>pvdrm.host</c>.</summary>
    public string ToHocon()
    {
        var hocon = new StringBuilder();
        Line(hocon, "listen.unix", Listen is { Length: > 0 } l && l.StartsWith("unix:", StringComparison.Ordinal) ? l[5..] : Listen);
        Line(hocon, "listen.tcp", ListenTcp);
        Line(hocon, "listen.vsock", ListenVsock);
        Line(hocon, "sequential", Sequential is { } s ? (s ? "on" : "off") : null);
        Line(hocon, "device", Device);
        Line(hocon, "control.unix", ControlUnix);
        Line(hocon, "auth.tokens-file", TokensFile);
        Line(hocon, "auth.same-uid", SameUid is { } u ? (u ? "on" : "off") : null);
        Line(hocon, "metrics.listen", MetricsListen);
        Line(hocon, "limits.max-frame", MaxFrame?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (key, value) in Extra) hocon.Append(HostSettings.Root).Append('.').Append(key).Append(" = ").AppendLine(value);
        return hocon.ToString();
    }

    /// <summary>The properties over <see cref="Config"/> over reference.conf: what the host's settings are read from.</summary>
    public Config ToConfig() => Layered(ToHocon(), Config);

    internal static Config Layered(string hocon, Config? beneath)
    {
        Config top;
        try
        {
            top = ConfigurationFactory.ParseString(hocon);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"options: not valid HOCON ({e.Message})");
        }
        var merged = beneath is null || beneath.IsEmpty ? top : top.IsEmpty ? beneath : top.WithFallback(beneath);
        return PvDrmConfig.OverReference(merged);
    }

    private static void Line(StringBuilder hocon, string key, string? value)
    {
        if (value != null) hocon.Append(HostSettings.Root).Append('.').Append(key).Append(" = ").AppendLine(System.Text.Json.JsonSerializer.Serialize(value));
    }
}
