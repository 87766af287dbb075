using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Actors.Host.Control.ControlProtocol;

namespace PvDrm.Actors.Host.Control;

/// <summary>
/// <c>/user/pvdrm/control</c> (and the proxy's <c>/user/proxy/control</c>): serves admin commands on
/// a control socket (mode 0600, and the peer must be root or the process's own user). Each request
/// is one JSON message; <c>target</c> answers the commands it knows.
/// </summary>
internal sealed class ControlActor : ReceiveActor
{
    private readonly string _path;
    private readonly IActorRef _target;
    private readonly IReadOnlySet<string> _commands;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private UnixListener? _listener;

    public ControlActor(string path, IActorRef target, IReadOnlySet<string> commands)
    {
        _path = path;
        _target = target;
        _commands = commands;
        Receive<Accepted>(a => new ControlLink(a.Connection, Self).Start());
        Receive<Incoming>(Handle);
    }

    public static Props Props(string path, IActorRef target, params string[] commands) =>
        Akka.Actor.Props.Create(() => new ControlActor(path, target, commands.ToHashSet()));

    private sealed record Accepted(Connection Connection);

    internal sealed record Incoming(byte[] Json, Connection Connection);

    protected override void PreStart()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
        var self = Self;
        uint own = (uint)Tmds.Linux.LibC.geteuid();
        _listener = new UnixListener(_path, Convert.ToUInt32("600", 8), (fd, peer) =>
        {
            if (peer.Uid != own && peer.Uid != 0)
            {
                fd.Dispose(); // the socket's mode already says no; this holds even if it was loosened
                return;
            }
            self.Tell(new Accepted(new SeqPacketConnection(fd, new ConnectionOptions { MaxFrame = 1 << 20 }, peer: peer)));
        });
    }

    protected override void PostStop() => _listener?.Dispose();

    private void Handle(Incoming incoming)
    {
        Request? request;
        try
        {
            request = JsonSerializer.Deserialize<Request>(incoming.Json, Json);
        }
        catch (JsonException e)
        {
            Answer(incoming.Connection, new Response(false, $"not a control request: {e.Message}"));
            return;
        }
        var connection = incoming.Connection;
        if (request?.Command is not { } command || !_commands.Contains(command))
        {
            Answer(connection, new Response(false, $"unknown command '{request?.Command}' ({string.Join(", ", _commands)})"));
            return;
        }
        if (command == "evict") _log.Warning("operator asked to evict guest {Guest}", request.Guest);
        _target.Ask<Response>(request, TimeSpan.FromSeconds(10))
            .ContinueWith(t => Answer(connection, t.IsCompletedSuccessfully ? t.Result : new Response(false, "no answer in time")));
    }

    private static void Answer(Connection connection, Response response) =>
        connection.Send(JsonSerializer.SerializeToUtf8Bytes(response, Json));

    /// <summary>Hands each message of one admin connection to the actor.</summary>
    private sealed class ControlLink : IFrameHandler
    {
        private readonly Connection _connection;
        private readonly IActorRef _actor;

        public ControlLink(Connection connection, IActorRef actor) => (_connection, _actor) = (connection, actor);

        public void Start() => _connection.Start(this);

        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            _actor.Tell(new Incoming(frame.ToArray(), _connection));
        }

        public void OnClosed(string reason) { }
    }
}
