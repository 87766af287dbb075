using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;
using PvDrm.Native.Io.Ring;

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

        Receive<AdmissionProtocol.Accept>(Accept);
        Receive<AdmissionProtocol.HelloDeadline>(d => OnHelloDeadline(d.Link));
        Receive<AdmissionProtocol.ClosedBeforeAdmission>(c => LeaveUnadmitted(c.Link));
        Receive<AdmissionProtocol.Admit>(Admit);
        Receive<Pool.PoolProtocol.Started>(s => _pool = s.Pool);
        Receive<Pool.PoolProtocol.ViewChanged>(v => OnViewChanged(v.View));
        Receive<PoolPlaced>(OnPlaced);
        Receive<ControlProtocol.Request>(r => r.Command == "cluster-status", r =>
        {
            if (Pooled) _pool.Forward(new Pool.PoolProtocol.GetStatus());
            else Sender.Tell(new ControlProtocol.Response(false, $"this host is not part of a pool ({Pool.ClusterSettings.Root}.enabled = off)"));
        });
        Receive<ControlProtocol.Request>(r => r.Command == "set", Set);
        Receive<ControlProtocol.Request>(r =>
        {
            var response = r.Command switch
            {
                "status" => new ControlProtocol.Response(true, "ok", Status()),
                "evict" when r.Guest != null => Evict(r.Guest),
                "evict" => new ControlProtocol.Response(false, "evict needs a guest name"),
                "devices" => new ControlProtocol.Response(true, "ok", Devices: DeviceStatuses()),
                "attach" or "detach" => Attach(r), // null: the guest's actor answers
                "reload" => Reload(),
                "grant" => Grant(r),
                _ => new ControlProtocol.Response(false, $"unknown command '{r.Command}'"),
            };
            if (response != null) Sender.Tell(response);
        });
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

    /// <summary>The device a guest gets: the operator's last attach or detach, else its configured one, else the default.</summary>
    private string? DeviceNameFor(string guest) =>
        _attached.TryGetValue(guest, out var attached) ? attached
        : _settings.GuestDevices.TryGetValue(guest, out var configured) ? configured
        : _devices.Default;

    /// <summary>
    /// `attach --guest G --device D` and `detach --guest G`: remembered for the guest's later
    /// connections too; a connected guest's actor makes the change and answers.
    /// </summary>
    private ControlProtocol.Response? Attach(ControlProtocol.Request r)
    {
        bool attach = r.Command == "attach";
        if (string.IsNullOrEmpty(r.Guest)) return new ControlProtocol.Response(false, $"{r.Command} needs a guest name (--guest)");
        if (Pooled) return AssignInPool(r, r.Guest);
        var device = attach ? _devices.Find(r.Value ?? "") : null;
        if (attach && device == null)
            return new ControlProtocol.Response(false, $"no device named '{r.Value}' on this host (devices: {string.Join(", ", _devices.All.Select(d => d.Name))})");
        bool connected = _guests.TryGetValue(r.Guest, out var guest);
        if (!connected && !_seen.Contains(r.Guest) && !_settings.GuestDevices.ContainsKey(r.Guest) && !_admission.IsGranted(r.Guest))
            return new ControlProtocol.Response(false, $"no guest named '{r.Guest}' has connected to this host, and {HostSettings.Root}.guests does not list it");
        _attached[r.Guest] = device?.Name;
        string reason = attach ? $"attached to {device!.Name} by the operator" : "detached by the operator";
        if (connected)
        {
            guest.Actor.Forward(new GuestProtocol.Attach(device, reason));
            return null;
        }
        return new ControlProtocol.Response(true, attach
            ? $"guest {r.Guest} is not connected; it gets device {device!.Name} when it connects"
            : $"guest {r.Guest} is not connected; it gets no device when it connects, until attached");
    }

    /// <summary>
    /// `grant`: a container's share. Binds the guest's name to a token (<see cref="Admission.Grant"/>)
    /// and, with a device in <c>key</c>, attaches the guest to it as `attach` does.
    /// </summary>
    private ControlProtocol.Response? Grant(ControlProtocol.Request r)
    {
        if (string.IsNullOrEmpty(r.Guest) || !DeviceSettings.ValidName().IsMatch(r.Guest))
            return new ControlProtocol.Response(false, $"grant needs a valid guest name, not '{r.Guest}'");
        if (r.Key is { } device && _devices.Find(device) == null && !Pooled)
            return new ControlProtocol.Response(false, $"no device named '{device}' on this host (devices: {string.Join(", ", _devices.All.Select(d => d.Name))})");
        if (_admission.Grant(r.Guest, r.Value ?? "") is { } refused) return new ControlProtocol.Response(false, refused);
        _log.Info("guest {Guest} was granted a token{Device}", r.Guest, r.Key == null ? "" : $" for device {r.Key}");
        return r.Key == null ? new ControlProtocol.Response(true, $"guest {r.Guest} was granted a token")
            : Attach(new ControlProtocol.Request("attach", r.Guest, Value: r.Key));
    }

    /// <param name="engineUse">Each device's engine time, read once for a whole status; null: read here.</param>
    private IReadOnlyList<ControlProtocol.DeviceStatus> DeviceStatuses(IReadOnlyDictionary<Native.Gpu.IGpuDevice, Native.Gpu.EngineUse>? engineUse = null) => _devices.All.Select(device =>
    {
        var d = device.GetStats();
        var guests = _guests.Values.Where(g => g.Session.Device == device).Select(g => g.Session.Name).Order(StringComparer.Ordinal).ToList();
        var use = engineUse?[device] ?? device.GetEngineUse();
        return new ControlProtocol.DeviceStatus(device.Name, HostDevices.KindOf(device), device.Info.Driver, (long)DeviceMemory(device),
            device.Name == _devices.Default, d.LiveBuffers, d.LiveBytes, d.LiveChannels, d.Submitted, d.Completed, d.Running, guests,
            WaitingFor(device.Name), use.Engines, use.BusySeconds);
    }).ToList();

    /// <summary>Guests named for a device (by the operator's attach, else the configuration) that are not connected.</summary>
    private List<string> WaitingFor(string device) =>
        _settings.GuestDevices.Keys.Concat(_attached.Keys).Distinct(StringComparer.Ordinal)
            .Where(g => !_guests.ContainsKey(g) && DeviceNameFor(g) == device)
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>The device's memory for status, 0 when unknown or when asking it fails (an ioctl's EIO must not fail the status, nor the registry).</summary>
    private static ulong DeviceMemory(Native.Gpu.IGpuDevice device)
    {
        try
        {
            return device.TryGetParam(Native.Gpu.DeviceParam.FbSize, out ulong fb) ? fb : 0;
        }
        catch (ErrnoException)
        {
            return 0;
        }
    }

    private void Admit(AdmissionProtocol.Admit admit)
    {
        var (hello, link) = (admit.Hello, admit.Link);
        HelloArrived(link);
        if (hello.Version != ProtocolLimits.Version)
        {
            link.Refuse(hello, Errno.EPROTO, $"protocol version {hello.Version} is not supported; this host speaks version {ProtocolLimits.Version}");
            return;
        }
        if (!DeviceSettings.ValidName().IsMatch(hello.Name))
        {
            link.Refuse(hello, Errno.EINVAL, $"guest name '{hello.Name}' is not valid: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
            return;
        }
        if (_admission.Refusal(hello.Name, hello.Token, link.Connection.Peer) is { } refusal)
        {
            link.Refuse(hello, Errno.EACCES, refusal); // logged by the link's refusal log
            return;
        }
        if (_guests.ContainsKey(hello.Name) || _placing.ContainsKey(hello.Name))
        {
            link.Refuse(hello, Errno.EBUSY, $"a guest named '{hello.Name}' is already connected");
            return;
        }
        if (FreeNamesOverCap(hello.Name, link.Connection.Peer) is { } over)
        {
            link.Refuse(hello, Errno.EMFILE, over);
            return;
        }
        if (Pooled) PlaceFirst(admit); // admitted once a majority of the pool says where it goes
        else Admitted(admit, null);
    }

    /// <summary>Why a free name is refused: its uid already holds <c>auth.names-per-uid</c> of them (live or being placed); null: room.</summary>
    private string? FreeNamesOverCap(string name, Native.Io.PeerCredentials? peer)
    {
        if (peer is not { } p || !_admission.IsFree(name)) return null;
        bool Counted(GuestLink link, string guest) => link.Connection.Peer?.Uid == p.Uid && _admission.IsFree(guest);
        int held = _guests.Values.Count(g => Counted(g.Session.Link, g.Session.Name)) + _placing.Values.Count(a => Counted(a.Link, a.Hello.Name));
        if (held < _admission.NamesPerUid) return null;
        return $"guest '{name}' is not admitted: uid {p.Uid} already holds {held} live guests under names bound to no token or uid " +
               $"({HostSettings.Root}.auth.names-per-uid = {_admission.NamesPerUid}); disconnect one, or bind names in auth.uid-names or the tokens file";
    }

    /// <param name="placement">In a pool: the guest's <c>node/device</c> (or none).</param>
    private void Admitted(AdmissionProtocol.Admit admit, string? placement)
    {
        var (hello, link) = (admit.Hello, admit.Link);
        LeaveUnadmitted(link);
        link.Metrics = _metrics?.ForGuest(hello.Name);
        _seen.Add(hello.Name);
        var session = new GuestSession(hello.Name, link, _gems, _settings, _log);
        if (placement != null) (session.Device, session.Redirect) = PlaceInPool(placement, link.Connection.Transport);
        else if (DeviceNameFor(hello.Name) is { } deviceName)
            session.Device = deviceName == HostSettings.AutoDevice ? LeastLoadedLocal() : _devices.Find(deviceName);
        var guest = Context.ActorOf(GuestActor.Props(session), hello.Name);
        Context.Watch(guest);
        _guests[hello.Name] = (guest, session);
        _names[guest] = hello.Name;
        if (Pooled) TellPoolGuestsHere();
        _log.Info("guest {Guest} admitted over {Transport} (session {Session}) on device {Device}",
            hello.Name, link.Connection.Transport, _nextSession + 1, session.Device?.Name ?? "none");
        uint caps = (link.Connection.CanPassFds ? ProtocolLimits.CapabilityMap : 0)
            | (link.Connection is RingServerConnection ? ProtocolLimits.CapabilityRing : 0);
        link.Admitted(guest, hello, new Replies.Hello(ProtocolLimits.Version, caps, (uint)link.MaxFrame, ++_nextSession));
    }

    /// <summary>`set sequential on|off`: the gate answers once in-flight work has drained and the switch took effect.</summary>
    private void Set(ControlProtocol.Request r)
    {
        if (r.Key != "sequential" || r.Value is not ("on" or "off"))
        {
            Sender.Tell(new ControlProtocol.Response(false, "set takes: sequential on|off"));
            return;
        }
        bool on = r.Value == "on";
        _routes.Current.Gate.Ask<Gate.GateProtocol.Switched>(new Gate.GateProtocol.SetSequential(on), _settings.RequestTimeout)
            .PipeTo(Sender,
                success: s => s.Sequential == on ? new ControlProtocol.Response(true, $"sequential mode is {r.Value}")
                    : new ControlProtocol.Response(false, "sequential mode was switched off again before it took effect"),
                failure: _ => new ControlProtocol.Response(false, r.Value == "on"
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

    private ControlProtocol.HostStatus Status()
    {
        var engineUse = _devices.All.ToDictionary(d => d, d => d.GetEngineUse());
        var guests = _guests.Values.Select(g => g.Session).OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new ControlProtocol.GuestStatus(
            s.Name, s.Device?.Name, s.Link.Connection.Transport, s.Link.Connection.PeerName, (DateTime.UtcNow - s.ConnectedAt).TotalSeconds,
            s.Contexts, s.Objects, s.Memory, s.MappedBytes, s.Channels, s.QueuedPushbufs, s.Link.InFlight, s.Link.Served,
            s.Link.Latency.Summary(), s.Link.ErrorsByKind(),
            s.Device != null && engineUse.TryGetValue(s.Device, out var use) ? use.SecondsByOwner.GetValueOrDefault(s.Name) : 0)).ToList();
        var errors = new SortedDictionary<string, long>(_departedErrors, StringComparer.Ordinal);
        foreach (var g in guests)
            foreach (var (kind, count) in g.Errors) errors[kind] = errors.GetValueOrDefault(kind) + count;
        var totals = new ControlProtocol.Totals((long)_nextSession, _departedServed + guests.Sum(g => g.Served), errors);
        return new ControlProtocol.HostStatus(_routes.Current.Sequential ? "sequential" : "concurrent", DeviceStatuses(engineUse), guests, totals, _metrics?.Url);
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "guest {Guest} failed and is disconnected: {Reason}", Sender.Path.Name, e.Message);
        return Directive.Stop;
    });
}
