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
/// is one JSON message; <c>target</c> answers the commands it knows, within one limit
/// (<see cref="ControlProtocol.AnswerWithin"/>), and a request that runs longer than
/// <see cref="ControlProtocol.ProgressEvery"/> reports that it still runs, so the client waits exactly as long.
/// </summary>
internal sealed class ControlActor : ReceiveActor, IWithTimers
{
    /// <summary>The limit of a control actor whose target answers at once (the proxy's status).</summary>
    public static readonly TimeSpan AtOnce = ControlProtocol.Silence;

    private readonly string _path;
    private readonly IActorRef _target;
    private readonly IReadOnlySet<string> _commands;
    private readonly TimeSpan _answerWithin;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, Running> _running = new();
    private long _nextId;
    private UnixListener? _listener;

    public ControlActor(string path, IActorRef target, TimeSpan answerWithin, IReadOnlySet<string> commands)
    {
        _path = path;
        _target = target;
        _commands = commands;
        _answerWithin = answerWithin;
        Receive<Accepted>(a => new ControlLink(a.Connection, Self).Start());
        Receive<Incoming>(Handle);
        Receive<Answered>(OnAnswered);
        Receive<ReportProgress>(_ => Progress());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="answerWithin">The longest <paramref name="target"/> may take: <see cref="ControlProtocol.AnswerWithin"/> of the request timeout.</param>
    public static Props Props(string path, IActorRef target, TimeSpan answerWithin, params string[] commands) =>
        Akka.Actor.Props.Create(() => new ControlActor(path, target, answerWithin, commands.ToHashSet()));

    /// <summary>A control actor for a target that answers at once (<see cref="AtOnce"/>).</summary>
    public static Props Props(string path, IActorRef target, params string[] commands) => Props(path, target, AtOnce, commands);

    private sealed record Accepted(Connection Connection);

    private sealed record Running(Connection Connection, DateTime Started);

    private sealed record Answered(long Id, Response Response);

    private sealed record ReportProgress
    {
        public static ReportProgress Instance { get; } = new();
    }

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
        long id = ++_nextId;
        _running[id] = new Running(connection, DateTime.UtcNow);
        if (_running.Count == 1) Timers.StartPeriodicTimer("progress", ReportProgress.Instance, ProgressEvery);
        var limit = _answerWithin;
        _target.Ask<Response>(request, limit).PipeTo(Self,
            success: r => new Answered(id, r),
            failure: _ => new Answered(id, new Response(false, $"{command}: no answer within {limit.TotalSeconds:F0} s")));
    }

    private void OnAnswered(Answered answered)
    {
        if (!_running.Remove(answered.Id, out var running)) return;
        if (_running.Count == 0) Timers.Cancel("progress");
        Answer(running.Connection, answered.Response);
    }

    /// <summary>Tells the client of every request running longer than <see cref="ProgressEvery"/> that it still runs, and until when at most.</summary>
    private void Progress()
    {
        var now = DateTime.UtcNow;
        foreach (var r in _running.Values.Where(r => now - r.Started >= ProgressEvery))
            Answer(r.Connection, new Response(false, "running", Pending: new Pending((now - r.Started).TotalSeconds, _answerWithin.TotalSeconds)));
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
