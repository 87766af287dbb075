using Akka.Actor;
using static PvDrm.Actors.Host.GateProtocol;

namespace PvDrm.Actors.Host;

/// <summary>
/// The sequential gate's waiting requests, one queue per guest, served in turn: the next
/// request is the oldest of the guest whose turn it is, and that guest then goes to the back.
/// So a guest with a long backlog delays another's request by at most one of its own turns,
/// while each guest's requests keep their order.
/// </summary>
internal sealed class GuestTurns
{
    private readonly Dictionary<IActorRef, Queue<Gated>> _queues = new();
    private readonly Queue<IActorRef> _turns = new(); // guests with requests waiting, next first
    private IActorRef? _last; // whose request was served last

    public int Count { get; private set; }

    public void Enqueue(Gated gated)
    {
        if (!_queues.TryGetValue(gated.Target, out var queue))
        {
            _queues[gated.Target] = queue = new Queue<Gated>();
            _turns.Enqueue(gated.Target);
        }
        queue.Enqueue(gated);
        Count++;
    }

    public bool TryDequeue(out Gated gated)
    {
        // The guest served last queued its next request while that one ran, possibly before
        // others queued theirs: it still waits for them.
        if (_turns.Count > 1 && Equals(_turns.Peek(), _last)) _turns.Enqueue(_turns.Dequeue());
        if (!_turns.TryDequeue(out var guest))
        {
            gated = null!;
            return false;
        }
        _last = guest;
        var queue = _queues[guest];
        gated = queue.Dequeue();
        Count--;
        if (queue.Count > 0) _turns.Enqueue(guest);
        else _queues.Remove(guest);
        return true;
    }
}
