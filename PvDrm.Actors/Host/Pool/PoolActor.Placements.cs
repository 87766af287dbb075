using Akka.Actor;
using Akka.DistributedData;
using Akka.Event;
using PvDrm.Actors.Host.Control;

namespace PvDrm.Actors.Host.Pool;

/// <summary>The pool actor's placements: writing them, concurrent writes, failover moves and expiry.</summary>
internal sealed partial class PoolActor
{
    private const int ConflictsKept = 32;

    private Dictionary<string, Placement> _placements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _absentSince = new(StringComparer.Ordinal); // guest -> Environment.TickCount64, on the leader
    private readonly Queue<string> _conflicts = new();
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    /// <summary>
    /// The replicated placements changed. This node's own write replaced by another node's of
    /// the same version means both placed the guest at once and the other won by the rule
    /// (<see cref="PlacementTable"/>): logged here, and recorded in the replicated conflicts so
    /// that the winner's node (and every other) reports it too.
    /// </summary>
    private void OnPlacementsChanged(Dictionary<string, Placement> winners)
    {
        foreach (var (guest, winner) in winners)
            // A lower version is only a stale notice, a higher one a later decision.
            if (_placements.TryGetValue(guest, out var before) && before != winner && before.Version == winner.Version
                && before.Writer == _settings.NodeName && winner.Writer != _settings.NodeName)
            {
                string line = Conflict(guest, winner, before);
                _replicator.Tell(Dsl.Update(PlacementTable.ConflictsKey, LWWDictionary<string, string>.Empty, WriteLocal.Instance,
                    d => d.SetItem(SelfNode, guest, line)));
            }
        _placements = winners;
        _view = _view with { Assignments = winners.ToDictionary(w => w.Key, w => w.Value.Where, StringComparer.Ordinal) };
        Count();
    }

    /// <summary>Conflicts recorded by the nodes that lost them, shown and logged here too.</summary>
    private void OnConflictsChanged(LWWDictionary<string, string> conflicts)
    {
        foreach (var (_, line) in conflicts.Entries) Report(line);
        // The leader forgets conflicts of guests no longer placed, so the record stays bounded.
        if (Leading)
            foreach (string guest in conflicts.Entries.Keys.Where(g => !_placements.ContainsKey(g)).ToList())
                _replicator.Tell(Dsl.Update(PlacementTable.ConflictsKey, LWWDictionary<string, string>.Empty, WriteLocal.Instance, d => d.Remove(SelfNode, guest)));
    }

    private void Count()
    {
        _counters.Placements = _view.Assignments.Count;
        _counters.PlacedHere = _view.Assignments.Values.Count(p => PoolView.Split(p)?.Node == _settings.NodeName);
    }

    private static string Conflict(string guest, Placement winner, Placement loser) =>
        $"guest {guest}: concurrent placements; {winner} wins over {loser} (same version: the lower node address wins)";

    private string Report(string line)
    {
        if (!_reported.Add(line)) return line;
        _log.Warning("pool: {Conflict}", line);
        _conflicts.Enqueue(line);
        while (_conflicts.Count > ConflictsKept) _reported.Remove(_conflicts.Dequeue());
        return line;
    }

    /// <summary>Writes <paramref name="where"/> as the guest's next placement; the view counts it at once.</summary>
    private Placement Record(string guest, string where, IWriteConsistency consistency, out Task<IUpdateResponse> written)
    {
        var placement = new Placement(where, PlacementTable.Next(_placements.GetValueOrDefault(guest)), _settings.NodeName);
        _placements[guest] = placement;
        _view = _view with { Assignments = new Dictionary<string, string>(_view.Assignments, StringComparer.Ordinal) { [guest] = where } };
        Count();
        written = _replicator.Ask<IUpdateResponse>(Dsl.Update(PlacementTable.Key, PlacementTable.Empty, consistency,
            d => PlacementTable.Set(d, SelfNode, guest, placement)), WriteTimeout + TimeSpan.FromSeconds(1));
        return placement;
    }

    private void Assign(PoolProtocol.Assign assign)
    {
        if (assign.Placement != PoolView.None && !_view.Exists(assign.Placement))
        {
            Sender.Tell(new ControlProtocol.Response(false,
                $"no device named '{assign.Placement}' in the pool (devices: {string.Join(", ", AllDevices())})"));
            return;
        }
        var mine = Record(assign.Guest, assign.Placement, new WriteMajority(WriteTimeout), out var written);
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
        // Read back from a majority: a concurrent attach elsewhere that already landed decides here too.
        var replicator = _replicator;
        written.ContinueWith(w => replicator.Ask<IGetResponse>(Dsl.Get(PlacementTable.Key, new ReadMajority(WriteTimeout)), WriteTimeout + TimeSpan.FromSeconds(1))
                .ContinueWith(r => Answer(assign, mine, w.IsCompletedSuccessfully && w.Result is UpdateSuccess,
                    r.IsCompletedSuccessfully && r.Result is GetSuccess got ? PlacementTable.Entries(got.Get(PlacementTable.Key)).GetValueOrDefault(assign.Guest) : null)))
            .Unwrap().PipeTo(Sender);
    }

    private static ControlProtocol.Response Answer(PoolProtocol.Assign assign, Placement mine, bool confirmed, Placement? seen)
    {
        if (seen != null && seen != mine && seen.Version == mine.Version)
            return new ControlProtocol.Response(false, $"attach of {assign.Guest} lost: {Conflict(assign.Guest, seen, mine)}");
        return new ControlProtocol.Response(true, confirmed
            ? $"guest {assign.Guest} placed on {assign.Placement} ({assign.Why})"
            : $"guest {assign.Guest} placed on {assign.Placement} ({assign.Why}); not yet confirmed by a majority of the pool");
    }

    private void Place(PoolProtocol.Place place)
    {
        var sender = Sender;
        _replicator.Ask<IGetResponse>(Dsl.Get(PlacementTable.Key, new ReadMajority(WriteTimeout)), WriteTimeout + TimeSpan.FromSeconds(1))
            .ContinueWith(read => read.IsCompletedSuccessfully && read.Result is GetSuccess found
                && PlacementTable.Entries(found.Get(PlacementTable.Key)).TryGetValue(place.Guest, out var existing)
                    ? new PlacedHere(sender, place, existing)
                    : new PlacedHere(sender, place, null))
            .PipeTo(Self);
    }

    private sealed record PlacedHere(IActorRef ReplyTo, PoolProtocol.Place Place, Placement? Existing);

    /// <summary>Counted in this node's view at once, so the next guest placed here already sees it.</summary>
    private void OnPlaced(PlacedHere placed)
    {
        string guest = placed.Place.Guest;
        if (placed.Existing is { } existing)
        {
            if (!_placements.TryGetValue(guest, out var known) || existing.Version > known.Version)
            {
                _placements[guest] = existing;
                _view = _view with { Assignments = new Dictionary<string, string>(_view.Assignments, StringComparer.Ordinal) { [guest] = existing.Where } };
                _registry.Tell(new PoolProtocol.ViewChanged(_view));
            }
            placed.ReplyTo.Tell(new PoolProtocol.Placed(_placements[guest].Where));
            return;
        }
        var replyTo = placed.ReplyTo;
        var placement = Record(guest, placed.Place.IfUnplaced, new WriteMajority(WriteTimeout), out var written);
        _registry.Tell(new PoolProtocol.ViewChanged(_view));
        written.ContinueWith(_ => new PoolProtocol.Placed(placement.Where)).PipeTo(replyTo);
    }

    /// <summary>
    /// Places every guest of <paramref name="node"/> on the least-loaded device elsewhere (or
    /// none); returns how many. A node leaving when no other serves (the whole pool stopping)
    /// keeps its placements, so the pool started again puts every guest back on its device.
    /// </summary>
    private int MoveGuestsOff(string node, string why, bool leaving = false)
    {
        if (leaving && _view.LeastLoaded(except: node) == null) return 0;
        var moving = _view.Assignments.Where(a => PoolView.Split(a.Value)?.Node == node).ToList();
        foreach (var (guest, placement) in moving)
        {
            string target = _settings.Failover ? _view.LeastLoaded(except: node) ?? PoolView.None : PoolView.None;
            _log.Info("pool: guest {Guest} moves from {From} to {To} ({Reason})", guest, placement, target, why);
            Record(guest, target, new WriteMajority(WriteTimeout), out _);
        }
        if (moving.Count > 0) _registry.Tell(new PoolProtocol.ViewChanged(_view));
        return moving.Count;
    }

    /// <summary>
    /// The leader forgets the placement of a guest connected to no node for placement-expiry, so
    /// departed guests stop counting as load and the table stays bounded. Timed on the leader's
    /// own monotonic clock; a new leader starts timing afresh.
    /// </summary>
    private void Expire()
    {
        if (!Leading || _settings.PlacementExpiry <= TimeSpan.Zero)
        {
            _absentSince.Clear();
            return;
        }
        long now = Environment.TickCount64;
        var connected = _view.Connected().ToHashSet(StringComparer.Ordinal);
        foreach (string guest in _absentSince.Keys.Where(g => connected.Contains(g) || !_placements.ContainsKey(g)).ToList())
            _absentSince.Remove(guest);
        foreach (var (guest, placement) in _placements)
        {
            if (connected.Contains(guest)) continue;
            long since = _absentSince.TryGetValue(guest, out long t) ? t : _absentSince[guest] = now;
            if (now - since < _settings.PlacementExpiry.TotalMilliseconds) continue;
            _log.Info("pool: guest {Guest} connected to no node for {Expiry}: its placement {Placement} expires", guest, _settings.PlacementExpiry, placement.Where);
            _absentSince.Remove(guest);
            _counters.Expired++;
            _replicator.Tell(Dsl.Update(PlacementTable.Key, PlacementTable.Empty, new WriteMajority(WriteTimeout), d => d.Remove(SelfNode, guest)));
        }
    }
}
