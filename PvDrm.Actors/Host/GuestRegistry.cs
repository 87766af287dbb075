using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
using PvDrm.Actors.Host.Control;
using PvDrm.Actors.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Host;

/// <summary>
/// <c>/user/pvdrm/guests</c>: admits guests (HELLO) and parents one <see cref="GuestActor"/> per
/// connected guest. A guest whose actor fails is stopped, never restarted with lost state; the
/// failure is logged with its name and nobody else is affected.
/// </summary>
internal sealed partial class GuestRegistry : ReceiveActor
{
    private readonly HostSettings _settings;
    private readonly IGpuDevice _device;
    private readonly HostMode _mode;
    private readonly Admission _admission;
    private readonly GemTable _gems;
    private readonly Metrics.HostMetrics? _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (IActorRef Actor, GuestSession Session)> _guests = new();
    private readonly Dictionary<IActorRef, string> _names = new();
    private ulong _nextSession;
    private long _departedServed;
    private readonly Dictionary<string, long> _departedErrors = new(StringComparer.Ordinal);

    public GuestRegistry(HostSettings settings, IGpuDevice device, HostMode mode, Admission admission, Metrics.HostMetrics? metrics)
    {
        _metrics = metrics;
        _settings = settings;
        _device = device;
        _mode = mode;
        _admission = admission;
        _gems = new GemTable(settings.SharingGroups);

        Receive<GuestProtocol.Accept>(a =>
            new GuestLink(a.Connection, _settings, Self, _mode, _log).Start());
        Receive<GuestProtocol.Admit>(Admit);
        Receive<ControlProtocol.Request>(r => r.Command == "set", Set);
        Receive<ControlProtocol.Request>(r => Sender.Tell(r.Command switch
        {
            "status" => new ControlProtocol.Response(true, "ok", Status()),
            "evict" when r.Guest != null => Evict(r.Guest),
            "evict" => new ControlProtocol.Response(false, "evict needs a guest name"),
            _ => new ControlProtocol.Response(false, $"unknown command '{r.Command}'"),
        }));
        Receive<Terminated>(t =>
        {
            if (!_names.Remove(t.ActorRef, out var name) || !_guests.Remove(name, out var gone)) return;
            // Keep what the departed guest was served, for the host's totals.
            _departedServed += gone.Session.Link.Served;
            gone.Session.Link.Metrics?.Forget();
            foreach (var (kind, count) in gone.Session.Link.ErrorsByKind())
                _departedErrors[kind] = _departedErrors.GetValueOrDefault(kind) + count;
        });
    }

    public static Props Props(HostSettings settings, IGpuDevice device, HostMode mode, Admission admission, Metrics.HostMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new GuestRegistry(settings, device, mode, admission, metrics));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex GuestName();

    private void Admit(GuestProtocol.Admit admit)
    {
        var (hello, link) = (admit.Hello, admit.Link);
        if (hello.Version != ProtocolLimits.Version)
        {
            link.Refuse(hello, Errno.EPROTO, $"protocol version {hello.Version} is not supported; this host speaks version {ProtocolLimits.Version}");
            return;
        }
        if (!GuestName().IsMatch(hello.Name))
        {
            link.Refuse(hello, Errno.EINVAL, $"guest name '{hello.Name}' is not valid: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
            return;
        }
        if (_admission.Refusal(hello.Name, hello.Token, link.Connection.Peer) is { } refusal)
        {
            link.Refuse(hello, Errno.EACCES, refusal); // logged by the link's refusal log
            return;
        }
        if (_guests.ContainsKey(hello.Name))
        {
            link.Refuse(hello, Errno.EBUSY, $"a guest named '{hello.Name}' is already connected");
            return;
        }

        link.Metrics = _metrics?.ForGuest(hello.Name);
        var session = new GuestSession(hello.Name, link, _device, _gems, _settings, _log);
        var guest = Context.ActorOf(GuestActor.Props(session), hello.Name);
        Context.Watch(guest);
        _guests[hello.Name] = (guest, session);
        _names[guest] = hello.Name;
        _log.Info("guest {Guest} admitted over {Transport} (session {Session})", hello.Name, link.Connection.Transport, _nextSession + 1);
        uint caps = link.Connection.CanPassFds ? ProtocolLimits.CapabilityMap : 0;
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
        _mode.Gate.Ask<bool>(new GateProtocol.SetSequential(r.Value == "on"), _settings.RequestTimeout)
            .PipeTo(Sender,
                success: _ => new ControlProtocol.Response(true, $"sequential mode is {r.Value}"),
                failure: _ => new ControlProtocol.Response(false, $"in-flight work did not drain within {_settings.RequestTimeout.TotalSeconds:F0} s; try again"));
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
        var d = _device.GetStats();
        var device = new ControlProtocol.DeviceStatus(_device.Name, _device.Info.Driver, d.LiveBuffers, d.LiveBytes, d.LiveChannels, d.Submitted, d.Completed, d.Running);
        var guests = _guests.Values.Select(g => g.Session).OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new ControlProtocol.GuestStatus(
            s.Name, s.Link.Connection.Transport, s.Link.Connection.PeerName, (DateTime.UtcNow - s.ConnectedAt).TotalSeconds,
            s.Contexts, s.Objects, s.Memory, s.MappedBytes, s.Channels, s.QueuedPushbufs, s.Link.InFlight, s.Link.Served,
            s.Link.Latency.Summary(), s.Link.ErrorsByKind())).ToList();
        var errors = new SortedDictionary<string, long>(_departedErrors, StringComparer.Ordinal);
        foreach (var g in guests)
            foreach (var (kind, count) in g.Errors) errors[kind] = errors.GetValueOrDefault(kind) + count;
        var totals = new ControlProtocol.Totals((long)_nextSession, _departedServed + guests.Sum(g => g.Served), errors);
        return new ControlProtocol.HostStatus(_mode.Sequential ? "sequential" : "concurrent", device, guests, totals, _metrics?.Url);
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "guest {Guest} failed and is disconnected: {Reason}", Sender.Path.Name, e.Message);
        return Directive.Stop;
    });
}
