using Akka.Actor;
using PvDrm.Protocol;

namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// One guest link's way along the routes the gate publishes. On the sequential route a request
/// waits at the gate. On the concurrent route it goes straight to the guest's actor, except while
/// this guest's last request sent through the gate is unanswered: that one may still be on its way
/// to the gate (sent just before the gate switched off), so the next follows it through the gate
/// and cannot overtake it. Used from the link's I/O loop only, one request at a time.
/// </summary>
internal sealed class GuestRoute(PublishedRoute routes)
{
    private Request? _behindGate; // the guest's last request sent through the gate

    /// <summary>
    /// Sends <paramref name="request"/> through the gate when its route says so, and returns true;
    /// false: it is on the concurrent route, for the caller to hand straight to <paramref name="guest"/>.
    /// Either way the request remembers its route, which hears of its answer.
    /// </summary>
    public bool ThroughGate(Request request, IActorRef guest)
    {
        while (true)
        {
            switch (routes.Current)
            {
                case SequentialRoute sequential:
                    request.Route = sequential;
                    _behindGate = request;
                    sequential.Gate.Tell(new GateProtocol.Wait(request, guest));
                    return true;
                case ConcurrentRoute concurrent when concurrent.TryEnter():
                    request.Route = concurrent;
                    if (_behindGate is not { ReplyTo: not null })
                    {
                        _behindGate = null;
                        return false;
                    }
                    _behindGate = request;
                    concurrent.Gate.Tell(new GateProtocol.PassOn(request, guest));
                    return true;
            }
            // Closed since it was read: the gate published its successor first.
        }
    }
}
