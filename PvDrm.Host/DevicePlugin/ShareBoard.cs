using PvDrm.Host.Containers;
using PvDrm.Host.DevicePlugin.V1Beta1;

namespace PvDrm.Host.DevicePlugin;

/// <summary>
/// The shares the plugin advertises, with their health and how many were handed out: what
/// ListAndWatch streams. Every change bumps a version and wakes the streams, so each sends the
/// list again (a health change, a share taken).
/// </summary>
internal sealed class ShareBoard
{
    public const string Healthy = "Healthy";
    public const string Unhealthy = "Unhealthy";

    private readonly object _gate = new();
    private readonly Dictionary<string, Share> _shares;
    private readonly Dictionary<string, string> _health;
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ShareBoard(IEnumerable<Share> shares)
    {
        _shares = shares.ToDictionary(s => s.Id, StringComparer.Ordinal);
        // Unknown until the host answers: a share is advertised as usable only once its device is seen.
        _health = _shares.Keys.ToDictionary(id => id, _ => Unhealthy, StringComparer.Ordinal);
    }

    public Share? Find(string id) => _shares.GetValueOrDefault(id);

    /// <summary>The list to send, and the version it is.</summary>
    public (long Version, ListAndWatchResponse List) Snapshot()
    {
        lock (_gate)
        {
            var list = new ListAndWatchResponse();
            list.Devices.AddRange(_shares.Keys.Order(StringComparer.Ordinal).Select(id => new Device { ID = id, Health = _health[id] }));
            return (_version, list);
        }
    }

    /// <summary>Completes when the board changed after <paramref name="version"/>.</summary>
    public Task ChangedSince(long version)
    {
        lock (_gate) return _version != version ? Task.CompletedTask : _changed.Task;
    }

    /// <summary>The host's devices now (null: the host is gone): shares of a missing device turn unhealthy.</summary>
    public void HostDevices(IReadOnlySet<string>? devices)
    {
        lock (_gate)
        {
            bool changed = false;
            foreach (var share in _shares.Values)
            {
                // A share on the default device (no attachment) needs only the host.
                bool up = devices != null && (share.Attach == null ? devices.Count > 0 : devices.Contains(share.Attach));
                string health = up ? Healthy : Unhealthy;
                changed |= _health[share.Id] != health;
                _health[share.Id] = health;
            }
            if (changed) Bump();
        }
    }

    /// <summary>A share was handed to a container.</summary>
    public void Taken(string id)
    {
        lock (_gate)
        {
            _taken.Add(id);
            Bump();
        }
    }

    /// <summary>Shares never handed out since the plugin started, by device: what a scheduler extender or operator may read.</summary>
    public IReadOnlyDictionary<string, int> FreeByDevice()
    {
        lock (_gate)
            return _shares.Values.Where(s => !_taken.Contains(s.Id) && _health[s.Id] == Healthy)
                .GroupBy(s => s.Device).ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>Whether a share was handed out (preferred allocations pick others first).</summary>
    public bool IsTaken(string id)
    {
        lock (_gate) return _taken.Contains(id);
    }

    private void Bump()
    {
        _version++;
        var done = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
    }
}
