using Akka.Actor;
using PvDrm.Actors.Host.Control;
using PvDrm.Actors.Host.Pool;
using PvDrm.Native.Gpu;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Registry;

/// <summary>The registry's part in a pool of hosts (<c>pvdrm.cluster</c>): where each guest goes.</summary>
internal sealed partial class GuestRegistry
{
    private IActorRef _pool = ActorRefs.Nobody;
    private PoolView? _view;

    private bool Pooled => _cluster.Enabled;

    private PoolView View => _view ?? PoolView.Empty(_cluster.NodeName);

    // Guests whose HELLO waits for the pool to place them.
    private readonly Dictionary<string, AdmissionProtocol.Admit> _placing = new(StringComparer.Ordinal);

    /// <summary>
    /// Where an arriving guest goes: the pool reads its placement from a majority of the nodes
    /// (another node may have just placed it and redirected it here, faster than replication
    /// reaches this node), and only if none has one records the guest's configured device, else
    /// the default (<c>auto</c>: the least loaded in the pool), on a majority, before the guest
    /// is admitted. Placements are written to a majority too, so the two always meet.
    /// </summary>
    private void PlaceFirst(AdmissionProtocol.Admit admit)
    {
        string guest = admit.Hello.Name;
        if (IsFree(guest) && !View.Assignments.ContainsKey(guest) && View.Assignments.Keys.Count(IsFree) >= _cluster.MaxFreePlacements)
        {
            // pvdrm.cluster.max-free-placements: served here, on this node's least loaded device, unrecorded.
            Admitted(admit, $"{View.Self}/{LeastLoadedLocal().Name}");
            return;
        }
        string initial = InitialPlacement(guest, View);
        _placing.Add(guest, admit);
        _pool.Ask<PoolProtocol.Placed>(new PoolProtocol.Place(guest, initial), TimeSpan.FromSeconds(10))
            .PipeTo(Self, success: p => new PoolPlaced(admit, p.Placement), failure: _ => new PoolPlaced(admit, initial));
    }

    private void OnPlaced(PoolPlaced placed)
    {
        _placing.Remove(placed.Admit.Hello.Name);
        if (placed.Admit.Link.Connection.IsOpen) Admitted(placed.Admit, placed.Placement);
    }

    private sealed record PoolPlaced(AdmissionProtocol.Admit Admit, string Placement);

    /// <summary>A name no credential or configuration owns: its guest was admitted by uid alone.</summary>
    private bool IsFree(string guest) => !_admission.Binds(guest) && !_settings.GuestDevices.ContainsKey(guest);

    /// <summary>A device of this node for <paramref name="placement"/>, or the address of the node whose device it is, or neither.</summary>
    private (IGpuDevice? Device, GuestRedirect? Redirect) PlaceInPool(string placement, string transport)
    {
        if (PoolView.Split(placement) is not var (node, device)) return (null, null);
        if (node == View.Self) return (_devices.Find(device), null);
        return (null, View.AddressOf(node, transport) is { } address ? new GuestRedirect(address, placement) : null);
    }

    private string InitialPlacement(string guest, PoolView view)
    {
        string? wanted = _settings.GuestDevices.TryGetValue(guest, out var configured) ? configured : _devices.Default;
        return wanted switch
        {
            null => PoolView.None,
            HostSettings.AutoDevice => view.LeastLoaded() ?? PoolView.None,
            _ when wanted.Contains('/') => wanted,
            _ => $"{view.Self}/{wanted}",
        };
    }

    /// <summary>
    /// `attach`/`detach` in a pool: any node may place any guest on any device of the pool, also
    /// one that has not connected yet (it may connect to any node, and replication may not have
    /// told this one about it), so only the name is checked.
    /// </summary>
    /// <param name="wanted">The device (<c>node/device</c>, or a device of this node); null: detach.</param>
    private ControlProtocol.Response? AssignInPool(string guest, string? wanted)
    {
        if (!DeviceSettings.ValidName().IsMatch(guest))
            return new ControlProtocol.Response(false, $"'{guest}' is not a valid guest name: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit");
        string placement = wanted == null ? PoolView.None : wanted.Contains('/') ? wanted : $"{View.Self}/{wanted}";
        _pool.Forward(new PoolProtocol.Assign(guest, placement, wanted == null ? "detached by the operator" : "attached by the operator"));
        return null;
    }

    /// <summary>The pool changed: connected guests whose place changed are moved (their contexts closed, ENODEV for what was in flight).</summary>
    private void OnViewChanged(PoolView view)
    {
        _view = view;
        foreach (var (_, (actor, session)) in _guests)
        {
            // Not replicated here yet (just placed elsewhere): keep what it has.
            if (!view.Assignments.TryGetValue(session.Name, out var placement)) continue;
            var (device, redirect) = PlaceInPool(placement, session.Link.Connection.Transport);
            if (device == session.Device && redirect == session.Redirect) continue;
            string why = redirect != null ? $"moved to {redirect.Placement}" : device != null ? $"placed on {_cluster.NodeName}/{device.Name}" : "no device in the pool";
            actor.Tell(new GuestProtocol.Attach(device, why, redirect), ActorRefs.Nobody);
        }
    }

    /// <summary>The guests connected here, published with this node's load: a placed guest connected to no node expires.</summary>
    private void TellPoolGuestsHere() => _pool.Tell(new PoolProtocol.GuestsHere(_guests.Keys.ToList()));

    /// <summary>Without a pool, <c>auto</c>: the device of this host with the fewest guests on it.</summary>
    private IGpuDevice LeastLoadedLocal() => _devices.All
        .OrderBy(d => _guests.Values.Count(g => g.Session.Device == d))
        .ThenBy(d => d.Name, StringComparer.Ordinal)
        .First();
}

/// <summary>Where a guest placed on another node of the pool opens its contexts.</summary>
internal sealed record GuestRedirect(string Address, string Placement);
