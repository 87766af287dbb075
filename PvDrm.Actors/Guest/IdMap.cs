namespace PvDrm.Actors.Guest;

/// <summary>
/// A two-way table between an application's ids (handles, channels) and the host ids the proxy
/// hands out for them. Host ids are never reused within a context, so a late reply for a closed
/// id can never be taken for a new object.
/// </summary>
internal sealed class IdMap
{
    private readonly Dictionary<uint, uint> _toHost = new();
    private readonly Dictionary<uint, uint> _toApp = new();
    private uint _lastHost;

    public int Count => _toHost.Count;

    /// <summary>Maps a new application id to a fresh host id; false if the application id is taken.</summary>
    public bool TryAdd(uint app, out uint host)
    {
        host = 0;
        if (_toHost.ContainsKey(app)) return false;
        host = ++_lastHost;
        _toHost[app] = host;
        _toApp[host] = app;
        return true;
    }

    /// <summary>Maps a new application id to an existing host id (a cached object handed out again).</summary>
    public bool TryMap(uint app, uint host)
    {
        if (_toHost.ContainsKey(app)) return false;
        _toHost[app] = host;
        _toApp[host] = app;
        return true;
    }

    /// <summary>The host ids still mapped (what a departing application still holds).</summary>
    public IEnumerable<uint> HostIds => _toApp.Keys;

    public bool TryRemove(uint app, out uint host)
    {
        if (!_toHost.Remove(app, out host)) return false;
        _toApp.Remove(host);
        return true;
    }

    public bool TryGetHost(uint app, out uint host) => _toHost.TryGetValue(app, out host);

    public bool TryGetApp(uint host, out uint app) => _toApp.TryGetValue(host, out app);
}
