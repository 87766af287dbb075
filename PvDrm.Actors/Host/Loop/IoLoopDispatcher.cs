using Akka.Actor;
using Akka.Configuration;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host.Loop;

/// <summary>
/// The dispatcher that runs a guest's actors on the I/O loop serving its connection
/// (<c>pvdrm.host.actors-on-io-loop</c>): a request read from the guest's ring goes from actor to
/// actor and back into the reply ring on one thread, with no thread woken on the way. Each
/// mailbox run is one callback posted to the loop (<see cref="IoLoopExecutorConfigurator"/>), so
/// actors take turns with the loop's sockets and rings as any callback does. Work that may take
/// long or block never runs here: a device whose calls may block has its own dispatcher, pushbufs
/// run on the device's engines, waits are fence callbacks and timers, and large copies leave the
/// loop (<see cref="Gem.GemActor"/>).
/// </summary>
internal static class IoLoopDispatcher
{
    /// <summary>The config path <see cref="Props.WithDispatcher"/> names.</summary>
    public const string Id = "pvdrm-io-loop-dispatcher";

    /// <summary>Copies at least this large leave the loop: about 5 µs of memcpy, the cost of the wake-up the loop saves.</summary>
    public const int LargeCopy = 64 * 1024;

    private static readonly Config s_config = ConfigurationFactory.ParseString(
        $"{Id} {{\n" +
        "  type = Dispatcher\n" +
        $"  executor = \"{typeof(IoLoopExecutorConfigurator).FullName}, {typeof(IoLoopExecutorConfigurator).Assembly.GetName().Name}\"\n" +
        // A few messages per turn: a flooding guest's actors hand the loop back to the others soon.
        "  throughput = 8\n" +
        "}");

    private static readonly object s_lock = new();

    /// <summary>The loop this dispatcher runs on: the process-wide one, which serves every guest connection.</summary>
    public static EventLoop Loop => EventLoop.Default;

    /// <summary>True when the calling code runs on the loop (an actor on this dispatcher, or the loop's own callbacks).</summary>
    public static bool OnLoop => Loop.IsLoopThread;

    /// <summary>
    /// Makes <see cref="Id"/> known to <paramref name="system"/> (a fallback under its own config, as
    /// <see cref="Gem.GemMailbox"/> does), so any actor system can host a guest, test kits included.
    /// </summary>
    public static void EnsureConfigured(ActorSystem system)
    {
        if (system.Settings.Config.HasPath(Id)) return;
        lock (s_lock)
            if (!system.Settings.Config.HasPath(Id)) system.Settings.InjectTopLevelFallback(s_config);
    }
}
