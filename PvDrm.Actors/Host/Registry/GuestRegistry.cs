using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// <c>/user/pvdrm/guests</c>: admits guests (HELLO) and parents one <see cref="GuestActor"/> per
/// connected guest. A guest whose actor fails is stopped, never restarted with lost state; the
/// failure is logged with its name and nobody else is affected.
/// </summary>
internal sealed partial class GuestRegistry : ReceiveActor
{
    private HostSettings _settings; // reload replaces its auth, guests and sharing parts
    private readonly Pool.ClusterSettings _cluster;
    private readonly HostDevices _devices;
    private readonly Gate.PublishedRoute _routes;
    private Admission _admission;
    private readonly SettingsReload? _reload;
    private readonly GemTable _gems;
    private readonly Metrics.HostMetrics? _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (IActorRef Actor, GuestSession Session)> _guests = new();
    private readonly Dictionary<IActorRef, string> _names = new();
    private ulong _nextSession;
    private long _departedServed;
    private readonly Dictionary<string, long> _departedErrors = new(StringComparer.Ordinal);
    // attach/detach of the operator, which outlive a guest's connection; null: detached.
    private readonly Dictionary<string, string?> _attached = new(StringComparer.Ordinal);
    // Guests admitted since the host started, the most recent pvdrm.host.admission.remembered-guests of
    // them: the names attach and detach accept besides configured ones.
    private readonly RecentNames _seen;
    private readonly UnadmittedConnections _places;
    private readonly RefusalLog _refusals;

    public GuestRegistry(HostSettings settings, HostDevices devices, Gate.PublishedRoute routes, Admission admission, Metrics.HostMetrics? metrics, Pool.ClusterSettings? cluster,
        UnadmittedConnections? places, SettingsReload? reload)
    {
        _reload = reload;
        _metrics = metrics;
        _settings = settings;
        _cluster = cluster ?? new Pool.ClusterSettings();
        _devices = devices;
        _routes = routes;
        _admission = admission;
        _gems = new GemTable(settings.SharingGroups);
        _seen = new RecentNames(settings.Admission.RememberedGuests);
        _places = places ?? new UnadmittedConnections(settings.Admission, new RefusalLog(_log));
        _refusals = _places.Refusals;
        Loop.IoLoopDispatcher.EnsureConfigured(Context.System);

        Receive<AdmissionProtocol.Accept>(Accept);
        Receive<AdmissionProtocol.HelloDeadline>(d => OnHelloDeadline(d.Link));
        Receive<AdmissionProtocol.ClosedBeforeAdmission>(c => LeaveUnadmitted(c.Link));
        Receive<AdmissionProtocol.Admit>(Admit);
        Receive<Pool.PoolProtocol.Started>(s => _pool = s.Pool);
        Receive<Pool.PoolProtocol.ViewChanged>(v => OnViewChanged(v.View));
        Receive<PoolPlaced>(OnPlaced);
        // The control socket's JSON becomes a typed command in one place (AdminCommand.From).
        Receive<ControlProtocol.Request>(r => Self.Forward(AdminCommand.From(r)));
        Receive<AdminCommand.Status>(_ => Sender.Tell(new ControlProtocol.Response(true, "ok", Status())));
        Receive<AdminCommand.Devices>(_ => Sender.Tell(new ControlProtocol.Response(true, "ok", Devices: DeviceStatuses())));
        Receive<AdminCommand.ClusterStatus>(_ =>
        {
            if (Pooled) _pool.Forward(new Pool.PoolProtocol.GetStatus());
            else Sender.Tell(new ControlProtocol.Response(false, $"this host is not part of a pool ({Pool.ClusterSettings.Root}.enabled = off)"));
        });
        Receive<AdminCommand.SetSequential>(Set);
        Receive<AdminCommand.Evict>(e => Sender.Tell(Evict(e.Guest)));
        Receive<AdminCommand.Attach>(a => Answer(Attach(a.Guest, a.Device)));
        Receive<AdminCommand.Detach>(d => Answer(Attach(d.Guest, null)));
        Receive<AdminCommand.Grant>(g => Answer(Grant(g)));
        Receive<AdminCommand.Reload>(_ => Sender.Tell(Reload()));
        Receive<AdminCommand.Invalid>(i => Sender.Tell(new ControlProtocol.Response(false, i.Reason)));
        Receive<Terminated>(t =>
        {
            if (!_names.Remove(t.ActorRef, out var name) || !_guests.Remove(name, out var gone)) return;
            // Keep what the departed guest was served, for the host's totals.
            _departedServed += gone.Session.Link.Served;
            gone.Session.Link.Metrics?.Forget();
            if (Pooled) TellPoolGuestsHere();
            foreach (var (kind, count) in gone.Session.Link.ErrorsByKind())
                _departedErrors[kind] = _departedErrors.GetValueOrDefault(kind) + count;
        });
    }

    /// <param name="places">The places of connections not yet admitted (and the refusal log), shared with the listeners.</param>
    /// <param name="reload">Reads the configuration again for `reload` and SIGHUP; null: this host cannot.</param>
    public static Props Props(HostSettings settings, HostDevices devices, Gate.PublishedRoute routes, Admission admission,
        Metrics.HostMetrics? metrics = null, Pool.ClusterSettings? cluster = null, UnadmittedConnections? places = null, SettingsReload? reload = null) =>
        Akka.Actor.Props.Create(() => new GuestRegistry(settings, devices, routes, admission, metrics, cluster, places, reload));

    /// <summary>`reload` and SIGHUP (<see cref="SettingsReload"/>): nobody is disconnected.</summary>
    private ControlProtocol.Response Reload()
    {
        if (_reload == null) return new ControlProtocol.Response(false, "this host was not started from a configuration it can read again");
        if (_reload.TryRead(_settings, _devices, out string? error) is not var (settings, admission))
        {
            _log.Warning("{Reason}", error);
            return new ControlProtocol.Response(false, error!);
        }
        int granted = admission.KeepGrants(_admission);
        (_settings, _admission) = (settings, admission);
        _gems.SharingGroups = settings.SharingGroups;
        string summary = $"reloaded: {admission.Tokens} token(s) (and {granted} granted kept), {settings.Auth.UidNames.Count} uid binding(s), " +
            $"{settings.GuestDevices.Count} guest device(s), {settings.SharingGroups.Count} sharing group(s); {_guests.Count} connected guest(s) kept";
        _log.Info("{Summary}", summary);
        return new ControlProtocol.Response(true, summary);
    }

    /// <summary>A command's answer; null: another actor (the guest's, the pool's) answers the sender.</summary>
    private void Answer(ControlProtocol.Response? response)
    {
        if (response != null) Sender.Tell(response);
    }

    /// <summary>`set sequential on|off`: the gate answers once in-flight work has drained and the switch took effect.</summary>
    private void Set(AdminCommand.SetSequential set)
    {
        string value = set.On ? "on" : "off";
        _routes.Current.Gate.Ask<Gate.GateProtocol.Switched>(new Gate.GateProtocol.SetSequential(set.On), _settings.RequestTimeout)
            .PipeTo(Sender,
                success: s => s.Sequential == set.On ? new ControlProtocol.Response(true, $"sequential mode is {value}")
                    : new ControlProtocol.Response(false, "sequential mode was switched off again before it took effect"),
                failure: _ => new ControlProtocol.Response(false, set.On
                    ? $"sequential mode is switching on, but in-flight work did not drain within {_settings.RequestTimeout.TotalSeconds:F0} s " +
                      $"({HostSettings.Root}.limits.request-timeout); new requests wait until it has, then the switch takes effect"
                    : $"no answer from the gate within {_settings.RequestTimeout.TotalSeconds:F0} s ({HostSettings.Root}.limits.request-timeout)"));
    }

    private ControlProtocol.Response Evict(string name)
    {
        if (!_guests.TryGetValue(name, out var guest))
            return new ControlProtocol.Response(false, $"no guest named '{name}' is connected");
        guest.Actor.Tell(new GuestProtocol.Evict("evicted by the operator"));
        return new ControlProtocol.Response(true, $"guest '{name}' evicted: its contexts, objects and channels are being released");
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "guest {Guest} failed and is disconnected: {Reason}", Sender.Path.Name, e.Message);
        return Directive.Stop;
    });
}
