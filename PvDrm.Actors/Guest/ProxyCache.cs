using PvDrm.Client;
using PvDrm.Native.Interop;

namespace PvDrm.Actors.Guest;

/// <summary>
/// A closed object waiting in the proxy's GEM cache, still open on the host under
/// <see cref="HostHandle"/> in <see cref="HostContext"/>.
/// </summary>
internal sealed class ProxyCached
{
    public ProxyCached(uint hostContext, uint hostHandle, ulong app, bool mapped, FileDescriptor? fd)
    {
        (HostContext, HostHandle, App, Mapped, Fd) = (hostContext, hostHandle, app, mapped, fd);
    }

    public uint HostContext { get; }

    public uint HostHandle { get; }

    /// <summary>The application (session) that closed it.</summary>
    public ulong App { get; }

    /// <summary>
    /// The application was handed its descriptor and may still have it mapped: only that
    /// application may ever get this object again.
    /// </summary>
    public bool Mapped { get; }

    /// <summary>The buffer's descriptor, kept so a reuse can answer GEM_MAP without the host.</summary>
    public FileDescriptor? Fd { get; }

    /// <summary>Its global name once the export has come back (0 before): needed to open it in another context.</summary>
    public uint Name { get; set; }

    /// <summary>May <paramref name="app"/>'s context <paramref name="hostContext"/> take this object?</summary>
    public bool AvailableTo(ulong app, uint hostContext) =>
        hostContext == HostContext || (Name != 0 && (!Mapped || App == app));
}

/// <summary>
/// The proxy's GEM cache (pvdrm.guest.cache): the pool every application context draws from, and
/// for each host context, how many objects the cache still holds there (pooled, or being taken).
/// A context whose application has gone is kept open while that count is above zero.
/// </summary>
internal sealed class ProxyCache
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, int> _held = new();
    private readonly HashSet<uint> _retired = new();
    private readonly HashSet<uint> _names = new();

    public ProxyCache(GemCacheOptions options, bool movesByName = true)
    {
        Pool = new GemPool<ProxyCached>(options);
        MovesByName = movesByName;
    }

    /// <summary>False (sharing = host, where names cannot be kept from applications): objects are reused only in their own context.</summary>
    public bool MovesByName { get; }

    public GemPool<ProxyCached> Pool { get; }

    public bool Enabled => Pool.Enabled;

    /// <summary>
    /// Names the cache gave objects for its own moves. Names are guest-wide, so another application
    /// behind this proxy could guess one: applications may never import these.
    /// </summary>
    public void NameForMoves(uint name)
    {
        lock (_lock) _names.Add(name);
    }

    public bool IsInternalName(uint name)
    {
        lock (_lock) return _names.Contains(name);
    }

    /// <summary>Pooled objects that have their name, so any context may take them (status, tests).</summary>
    public int Named => Pool.Count(e => e.Name != 0);

    /// <summary>The cache now holds one more object in <paramref name="hostContext"/>.</summary>
    public void Hold(uint hostContext)
    {
        lock (_lock) _held[hostContext] = _held.GetValueOrDefault(hostContext) + 1;
    }

    /// <summary>One object left <paramref name="hostContext"/> (taken elsewhere, or freed). True: close that retired context now.</summary>
    public bool Left(uint hostContext)
    {
        lock (_lock)
        {
            int left = _held.GetValueOrDefault(hostContext) - 1;
            if (left > 0)
            {
                _held[hostContext] = left;
                return false;
            }
            _held.Remove(hostContext);
            return _retired.Remove(hostContext);
        }
    }

    /// <summary>Has the application context that owns <paramref name="hostContext"/> gone (while the cache still holds objects there)?</summary>
    public bool IsRetired(uint hostContext)
    {
        lock (_lock) return _retired.Contains(hostContext);
    }

    /// <summary>The application context is gone. True: nothing is held there, close it now; otherwise it closes with its last object.</summary>
    public bool Retire(uint hostContext)
    {
        lock (_lock)
        {
            if (_held.ContainsKey(hostContext))
            {
                _retired.Add(hostContext);
                return false;
            }
            return true;
        }
    }
}
