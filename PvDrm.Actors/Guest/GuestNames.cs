namespace PvDrm.Actors.Guest;

/// <summary>Who may open a global name through this proxy (pvdrm.guest.sharing).</summary>
public enum NameSharing
{
    /// <summary>Only the application that exported the name, as a render node refuses FLINK/OPEN across files.</summary>
    Application,

    /// <summary>Any application of this proxy, for names one of them exported.</summary>
    Guest,

    /// <summary>Also names of other guests in the host's sharing group; the GEM cache then never names its objects.</summary>
    Host,
}

/// <summary>
/// The global names applications of this proxy exported, by owner (an application connection,
/// or one program for the render node's files). Host names are sequential and so guessable:
/// GEM_IMPORT is allowed only for a name the owner exported (or, with sharing = guest, that any
/// application here exported), so names the proxy uses internally can never be opened.
/// </summary>
internal sealed class GuestNames
{
    public const string Key = "pvdrm.guest.sharing";
    public const string LimitKey = "pvdrm.guest.names-per-application";

    private readonly object _lock = new();
    private readonly int _limit;
    private readonly Dictionary<uint, HashSet<ulong>> _exporters = new();
    private readonly Dictionary<ulong, Owner> _owners = new();

    public GuestNames(NameSharing sharing, int limit = 4096)
    {
        Sharing = sharing;
        _limit = limit;
    }

    public NameSharing Sharing { get; }

    /// <summary>Names in the table, all owners together.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _exporters.Count;
        }
    }

    /// <summary>One more file or connection of <paramref name="owner"/>; pair with <see cref="Detach"/>.</summary>
    public void Attach(ulong owner)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) _owners[owner] = o = new Owner();
            o.Files++;
        }
    }

    /// <summary>The owner's last file or connection is gone: its names are forgotten.</summary>
    public void Detach(ulong owner)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) return;
            if (--o.Files > 0) return;
            _owners.Remove(owner);
            foreach (uint name in o.Names.Keys) Unlist(name, owner);
        }
    }

    /// <summary>Before a GEM_EXPORT: null and a place held for its name, or why the owner may name no more.</summary>
    public string? Reserve(ulong owner, HostHandle handle)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) return null;
            // A handle that already holds its name adds none.
            if (!o.Handles.ContainsKey(handle) && o.Names.Count + o.Reserved >= _limit)
                return $"GEM_EXPORT: this application already holds {o.Names.Count} global names; {LimitKey} = {_limit}; close exported objects to free names";
            o.Reserved++;
            return null;
        }
    }

    /// <summary>
    /// The host answered a GEM_EXPORT reserved with <see cref="Reserve"/>: <paramref name="name"/>
    /// for the object <paramref name="handle"/>, or nothing (0: it failed).
    /// </summary>
    public void Exported(uint name, ulong owner, HostHandle handle)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) return;
            o.Reserved--;
            if (name == 0) return;
            if (!_exporters.TryGetValue(name, out var set)) _exporters[name] = set = new HashSet<ulong>();
            set.Add(owner);
            Hold(o, name, handle);
        }
    }

    /// <summary>The owner opened its own name again (GEM_IMPORT): that handle keeps the name too.</summary>
    public void Imported(uint name, ulong owner, HostHandle handle)
    {
        lock (_lock)
        {
            if (_owners.TryGetValue(owner, out var o) && o.Names.ContainsKey(name)) Hold(o, name, handle);
        }
    }

    /// <summary>The owner closed <paramref name="handle"/>: a name none of its handles holds any more leaves the table.</summary>
    public void Closed(ulong owner, HostHandle handle)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o) || !o.Handles.Remove(handle, out uint name)) return;
            if (!o.Names.TryGetValue(name, out var holders) || !holders.Remove(handle) || holders.Count > 0) return;
            o.Names.Remove(name);
            Unlist(name, owner);
        }
    }

    /// <summary>Null if <paramref name="owner"/> may import <paramref name="name"/>; otherwise why not.</summary>
    public string? Refusal(uint name, ulong owner)
    {
        lock (_lock)
        {
            if (_exporters.TryGetValue(name, out var set) && (set.Contains(owner) || Sharing != NameSharing.Application)) return null;
        }
        if (Sharing == NameSharing.Host) return null; // the host decides, by its sharing groups
        string scope = Sharing == NameSharing.Application ? "this application" : "an application of this guest";
        return $"GEM_IMPORT: global name {name} was not exported by {scope}; {Key} = {Sharing.ToString().ToLowerInvariant()} scopes names (application, guest or host)";
    }

    private static void Hold(Owner o, uint name, HostHandle handle)
    {
        if (!o.Names.TryGetValue(name, out var holders)) o.Names[name] = holders = new HashSet<HostHandle>();
        if (holders.Add(handle)) o.Handles[handle] = name;
    }

    private void Unlist(uint name, ulong owner)
    {
        if (_exporters.TryGetValue(name, out var set) && set.Remove(owner) && set.Count == 0) _exporters.Remove(name);
    }

    private sealed class Owner
    {
        public int Files { get; set; }
        public int Reserved { get; set; }

        /// <summary>Each name and the handles (of this owner) that hold it.</summary>
        public Dictionary<uint, HashSet<HostHandle>> Names { get; } = new();
        public Dictionary<HostHandle, uint> Handles { get; } = new();
    }
}

/// <summary>A GEM object's handle in one host context of this proxy.</summary>
internal readonly record struct HostHandle(uint Context, uint Handle);

/// <summary>The names table and the owner an application context exports and imports as.</summary>
internal sealed record NameScope(GuestNames Names, ulong Owner)
{
    /// <summary>The owner of a program's render-node files, apart from application connection ids.</summary>
    public static ulong ProgramOwner(int pid) => (1UL << 63) | (uint)pid;
}
