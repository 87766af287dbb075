using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;
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
    private readonly IActorRef? _gate;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _guests = new();
    private readonly Dictionary<IActorRef, string> _names = new();
    private ulong _nextSession;

    public GuestRegistry(HostSettings settings, IGpuDevice device, IActorRef? gate)
    {
        _settings = settings;
        _device = device;
        _gate = gate;

        Receive<GuestProtocol.Accept>(a =>
            new GuestLink(a.Connection, _settings, Self, _gate).Start());
        Receive<GuestProtocol.Admit>(Admit);
        Receive<Terminated>(t =>
        {
            if (_names.Remove(t.ActorRef, out var name)) _guests.Remove(name);
        });
    }

    public static Props Props(HostSettings settings, IGpuDevice device, IActorRef? gate) =>
        Akka.Actor.Props.Create(() => new GuestRegistry(settings, device, gate));

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
        if (_guests.ContainsKey(hello.Name))
        {
            link.Refuse(hello, Errno.EBUSY, $"a guest named '{hello.Name}' is already connected");
            return;
        }

        var session = new GuestSession(hello.Name, link, _device, _settings, _log);
        var guest = Context.ActorOf(GuestActor.Props(session), hello.Name);
        Context.Watch(guest);
        _guests[hello.Name] = guest;
        _names[guest] = hello.Name;
        _log.Info("guest {0} admitted over {1} (session {2})", hello.Name, link.Connection.Transport, _nextSession + 1);
        link.Admitted(guest, hello, new Replies.Hello(ProtocolLimits.Version, 0, (uint)link.MaxFrame, ++_nextSession));
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "guest {0} failed and is disconnected: {1}", Sender.Path.Name, e.Message);
        return Directive.Stop;
    });
}
