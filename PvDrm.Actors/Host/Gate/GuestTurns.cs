using Akka.Actor;
using static PvDrm.Actors.Host.Gate.GateProtocol;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// The sequential gate's waiting requests, one queue per guest, served in turns: a turn is up
/// to <c>sequential-turn.requests</c> of one guest's requests in a row, oldest first, and that
/// guest then goes to the back. So a guest with a long backlog delays another's request by at
/// most one of its own turns, while each guest's requests keep their order.
/// </summary>
internal sealed class GuestTurns(int requestsPerTurn)
{
    private sealed class Waiting(LinkedListNode<IActorRef> turn)
    {
        public Queue<Wait> Requests { get; } = new();

        public LinkedListNode<IActorRef> Turn { get; } = turn;
    }

    private readonly Dictionary<IActorRef, Waiting> _waiting = new();
    private readonly LinkedList<IActorRef> _turns = new(); // guests with requests waiting, next first
    private IActorRef? _last; // whose request was served last
    private int _servedInTurn;  // of _last's, in a row

    public int Count { get; private set; }

    public void Enqueue(Wait gated)
    {
        if (!_waiting.TryGetValue(gated.Target, out var waiting))
            _waiting[gated.Target] = waiting = new Waiting(_turns.AddLast(gated.Target));
        waiting.Requests.Enqueue(gated);
        Count++;
    }

    public bool TryDequeue(out Wait gated)
    {
        if (_turns.First is not { } next)
        {
            gated = null!;
            return false;
        }
        // The guest served last goes on while its turn lasts and it has requests waiting.
        if (_last != null && _servedInTurn < requestsPerTurn && _waiting.ContainsKey(_last)) next = _waiting[_last].Turn;
        else
        {
            // Its turn is over: it waits for the others, also if it queued again before they did.
            if (_turns.Count > 1 && Equals(next.Value, _last))
            {
                _turns.RemoveFirst();
                _turns.AddLast(next);
                next = _turns.First!;
            }
            _servedInTurn = 0;
        }
        var guest = next.Value;
        var waiting = _waiting[guest];
        gated = waiting.Requests.Dequeue();
        Count--;
        _last = guest;
        _servedInTurn++;
        _turns.Remove(next);
        if (waiting.Requests.Count > 0) _turns.AddLast(next); // at the back for its next turn
        else _waiting.Remove(guest);
        return true;
    }
}
