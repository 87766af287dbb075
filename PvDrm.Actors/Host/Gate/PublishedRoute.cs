namespace PvDrm.Actors.Host.Gate;

/// <summary>
/// The route the gate last published. The guest links read it for every request, from their I/O
/// threads; only the gate (and its start, for the first route) writes it.
/// </summary>
internal sealed class PublishedRoute
{
    private volatile GateRoute? _current;

    public GateRoute Current => _current ?? throw new InvalidOperationException("the sequential gate has not published a route yet");

    internal void Publish(GateRoute route) => _current = route;
}
