using Akka.Actor;
using PvDrm.Actors.Host.Gem;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Host.Context;

/// <summary>
/// A context's GEM handles: the guest's number for each object, its actor and its host object,
/// and the handles a SCRUB import holds while the buffer is zeroed. Guest numbers only ever index
/// it; host objects never leave it. Owned by one context actor.
/// </summary>
internal sealed class HandleTable
{
    private readonly uint _context;
    private readonly int _limit;
    private readonly Dictionary<uint, (IActorRef Actor, HostGem Gem)> _open = new();
    private readonly Dictionary<uint, (GemImport Request, HostGem Gem)> _scrubbing = new();

    /// <param name="limit">limits.handles-per-context: open and scrubbing handles together.</param>
    public HandleTable(uint context, int limit) => (_context, _limit) = (context, limit);

    /// <summary>A SCRUB import is under way: the context's next requests wait for it, in order.</summary>
    public bool Scrubbing => _scrubbing.Count > 0;

    /// <summary>Checks a guest-chosen handle for a new object: non-zero, unused, within the limit.</summary>
    public bool CheckNew(Request r, uint handle)
    {
        int count = _open.Count + _scrubbing.Count;
        if (handle == 0) r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: handle 0 is reserved; choose a non-zero handle");
        else if (_open.ContainsKey(handle) || _scrubbing.ContainsKey(handle))
            r.Fail(Errno.EEXIST, $"{OpTable.NameOf(r.Op)}: handle {handle} is already in use in context {_context}");
        else if (count >= _limit)
            r.Fail(Errno.EMFILE, $"{OpTable.NameOf(r.Op)}: context {_context} already has {count} GEM objects (limits.handles-per-context)");
        else return true;
        return false;
    }

    public void Open(uint handle, IActorRef actor, HostGem gem) => _open[handle] = (actor, gem);

    public bool TryGet(uint handle, out (IActorRef Actor, HostGem Gem) entry) => _open.TryGetValue(handle, out entry);

    /// <summary>GEM_CLOSE: the handle leaves the table now; its actor releases the object.</summary>
    public bool TryClose(uint handle, out IActorRef actor)
    {
        bool found = _open.Remove(handle, out var entry);
        actor = entry.Actor;
        return found;
    }

    /// <summary>Keeps <paramref name="handle"/> from other requests while the import's buffer is zeroed.</summary>
    public void Reserve(GemImport r, HostGem gem) => _scrubbing[r.Handle] = (r, gem);

    /// <summary>The scrub for <paramref name="handle"/> ended; false when the context no longer waits for it.</summary>
    public bool TryEndScrub(uint handle, out (GemImport Request, HostGem Gem) pending) => _scrubbing.Remove(handle, out pending);

    /// <summary>
    /// The context closed while scrubs were under way: each finishes on the device, but its handle
    /// was never opened, so the import is refused and the object's handle count given back.
    /// </summary>
    public void CancelScrubs()
    {
        foreach (var (_, (request, gem)) in _scrubbing)
        {
            gem.ReleaseHandle();
            request.Fail(Errno.ECANCELED, $"GEM_IMPORT: context {_context} was closed while the buffer was scrubbed");
        }
        _scrubbing.Clear();
    }
}
