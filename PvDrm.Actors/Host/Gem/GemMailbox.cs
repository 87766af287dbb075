using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace PvDrm.Actors.Host.Gem;

/// <summary>
/// The GEM actors' mailbox. Akka's default queue is a ConcurrentQueue whose first segment (32
/// slots, about 1 KiB) exists from the start; a guest may hold 100k mostly idle objects, so this
/// queue has no storage until its first message and a small ring after that. GEM actors see few
/// messages, one sender at a time in practice, so a lock costs nothing that shows.
/// </summary>
internal sealed class GemMailbox : MailboxType, IProducesMessageQueue<GemMailbox.Queue>
{
    /// <summary>The config path <see cref="Props.WithMailbox"/> names.</summary>
    public const string Id = "pvdrm-gem-mailbox";

    private static readonly Config s_config = ConfigurationFactory.ParseString(
        $"{Id}.mailbox-type = \"{typeof(GemMailbox).FullName}, {typeof(GemMailbox).Assembly.GetName().Name}\"");

    private static readonly object s_lock = new();

    public GemMailbox(Settings settings, Config config) : base(settings, config)
    {
    }

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new Queue();

    /// <summary>
    /// Makes <see cref="Id"/> known to <paramref name="system"/> (a fallback under its own config,
    /// as Akka's extensions add theirs), so any actor system can host GEM actors, test kits included.
    /// </summary>
    public static void EnsureConfigured(ActorSystem system)
    {
        if (system.Settings.Config.HasPath(Id)) return;
        lock (s_lock)
            if (!system.Settings.Config.HasPath(Id)) system.Settings.InjectTopLevelFallback(s_config);
    }

    /// <summary>A lock-protected ring of envelopes, allocated on the first message and grown by doubling.</summary>
    internal sealed class Queue : IMessageQueue, IUnboundedMessageQueueSemantics
    {
        private Envelope[]? _ring;
        private int _head, _count;

        public bool HasMessages => Volatile.Read(ref _count) > 0;

        public int Count => Volatile.Read(ref _count);

        public void Enqueue(IActorRef receiver, Envelope envelope)
        {
            lock (this)
            {
                if (_ring == null || _count == _ring.Length) Grow();
                _ring![(_head + _count) % _ring.Length] = envelope;
                Volatile.Write(ref _count, _count + 1);
            }
        }

        public bool TryDequeue(out Envelope envelope)
        {
            lock (this)
            {
                if (_count == 0)
                {
                    envelope = default;
                    return false;
                }
                envelope = _ring![_head];
                _ring[_head] = default; // let the message be collected
                _head = (_head + 1) % _ring.Length;
                Volatile.Write(ref _count, _count - 1);
                return true;
            }
        }

        private void Grow()
        {
            var bigger = new Envelope[_ring == null ? 4 : _ring.Length * 2];
            for (int i = 0; i < _count; i++) bigger[i] = _ring![(_head + i) % _ring.Length];
            _ring = bigger;
            _head = 0;
        }

        public void CleanUp(IActorRef owner, IMessageQueue deadletters)
        {
            while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
        }
    }
}
