namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// Names seen lately, at most <see cref="Capacity"/>: adding one beyond that forgets the least
/// recently added. For tables keyed by names a guest chooses, so trying names cannot grow them.
/// </summary>
internal sealed class RecentNames(int capacity)
{
    private readonly LinkedList<string> _order = new();
    private readonly Dictionary<string, LinkedListNode<string>> _nodes = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;

    public int Count => _nodes.Count;

    public bool Contains(string name) => _nodes.ContainsKey(name);

    /// <summary>Adds <paramref name="name"/> as the most recent, or moves it there.</summary>
    public void Add(string name)
    {
        if (_nodes.Remove(name, out var node)) _order.Remove(node);
        if (Capacity == 0) return;
        while (_nodes.Count >= Capacity)
        {
            _nodes.Remove(_order.First!.Value);
            _order.RemoveFirst();
        }
        _nodes[name] = _order.AddLast(name);
    }
}
