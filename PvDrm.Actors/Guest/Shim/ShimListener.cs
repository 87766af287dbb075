using Akka.Actor;
using Akka.Event;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>
/// <c>/user/proxy/drm</c>: the proxy's render node for unmodified programs. Listens on
/// <c>pvdrm.guest.shim.unix</c>, where the preload shim connects each time a program opens the
/// node, and runs one <see cref="ShimFile"/> per open file.
/// </summary>
internal sealed class ShimListener : ReceiveActor
{
    public const string Name = "drm";

    private readonly string _path;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private UnixListener? _listener;
    private ulong _files;

    public ShimListener(string path, UpstreamLink upstream, ContextIds contextIds, Func<ulong> nextApp, ProxyCache cache, IActorRef cacheActor, GuestNames names, GuestRegion? region)
    {
        _path = path;
        var unknown = new ShimUnknownIoctls(_log);
        Receive<ShimProtocol.Connected>(c =>
        {
            // Each file is an application of its own to the cache and the host: its own context.
            var props = ShimFile.Props(c.Connection, upstream, contextIds.Next(), nextApp(), cache, cacheActor, unknown, names, region);
            Context.ActorOf(props, $"file-{++_files}");
        });
    }

    public static Props Props(string path, UpstreamLink upstream, ContextIds contextIds, Func<ulong> nextApp, ProxyCache cache, IActorRef cacheActor, GuestNames names, GuestRegion? region = null) =>
        Akka.Actor.Props.Create(() => new ShimListener(path, upstream, contextIds, nextApp, cache, cacheActor, names, region));

    protected override void PreStart()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
        var self = Self;
        _listener = new UnixListener(_path, Convert.ToUInt32("660", 8),
            (fd, peer) => self.Tell(new ShimProtocol.Connected(new SeqPacketConnection(fd, new ConnectionOptions(), peer: peer))));
        _log.Info("render node for unmodified DRM programs: unix:{0} (pvdrm-guest exec, or LD_PRELOAD=libpvdrm_shim.so)", _path);
    }

    protected override void PostStop() => _listener?.Dispose();

    // A failing file ends that file only; the program sees ENODEV on its next call.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _log.Error(e, "DRM file {0} failed and is closed", Sender.Path.Name);
        return Directive.Stop;
    });
}
