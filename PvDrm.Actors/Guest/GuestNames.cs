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

    private readonly object _lock = new();
    private readonly Dictionary<uint, HashSet<ulong>> _exporters = new();
    private readonly Dictionary<ulong, (int Files, List<uint> Names)> _owners = new();

    public GuestNames(NameSharing sharing) => Sharing = sharing;

    public NameSharing Sharing { get; }

    /// <summary>One more file or connection of <paramref name="owner"/>; pair with <see cref="Detach"/>.</summary>
    public void Attach(ulong owner)
    {
        lock (_lock)
        {
            var o = _owners.TryGetValue(owner, out var known) ? known : (Files: 0, Names: new List<uint>());
            _owners[owner] = (o.Files + 1, o.Names);
        }
    }

    /// <summary>The owner's last file or connection is gone: its names are forgotten.</summary>
    public void Detach(ulong owner)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) return;
            if (o.Files > 1)
            {
                _owners[owner] = (o.Files - 1, o.Names);
                return;
            }
            _owners.Remove(owner);
            foreach (uint name in o.Names)
                if (_exporters.TryGetValue(name, out var set) && set.Remove(owner) && set.Count == 0) _exporters.Remove(name);
        }
    }

    /// <summary>The host gave <paramref name="owner"/>'s object <paramref name="name"/> (GEM_EXPORT's reply).</summary>
    public void Exported(uint name, ulong owner)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(owner, out var o)) return;
            if (!_exporters.TryGetValue(name, out var set)) _exporters[name] = set = new HashSet<ulong>();
            if (set.Add(owner)) o.Names.Add(name);
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
}

/// <summary>The names table and the owner an application context exports and imports as.</summary>
internal sealed record NameScope(GuestNames Names, ulong Owner)
{
    /// <summary>The owner of a program's render-node files, apart from application connection ids.</summary>
    public static ulong ProgramOwner(int pid) => (1UL << 63) | (uint)pid;
}
