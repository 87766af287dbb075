using PvDrm.Native.Interop;

namespace PvDrm.Native.Drm;

/// <summary>
/// How many DRM files guest contexts may hold open: each session is a descriptor of the host
/// process, so they are capped per guest and host-wide (one budget shared by every DRM device
/// of the host). Taken before the file is opened; over either cap the open fails with EMFILE and
/// a message naming the setting. Owners appear here only while they hold a file.
/// </summary>
public sealed class DrmFileBudget
{
    private readonly object _lock = new();
    private readonly Dictionary<string, int> _byOwner = new(StringComparer.Ordinal);
    private int _open;

    /// <param name="perOwnerKey">The setting <paramref name="perOwner"/> comes from, named when it refuses.</param>
    /// <param name="totalKey">The setting <paramref name="total"/> comes from, named when it refuses.</param>
    public DrmFileBudget(int perOwner, int total, string perOwnerKey, string totalKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perOwner, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        PerOwner = perOwner;
        Total = total;
        PerOwnerKey = perOwnerKey;
        TotalKey = totalKey;
    }

    /// <summary>No caps (tests, and devices opened outside a host).</summary>
    public static DrmFileBudget Unlimited() => new(int.MaxValue, int.MaxValue, "no per-guest limit", "no host-wide limit");

    public int PerOwner { get; }

    public int Total { get; }

    public string PerOwnerKey { get; }

    public string TotalKey { get; }

    /// <summary>Files open now, over every owner.</summary>
    public int Open
    {
        get { lock (_lock) return _open; }
    }

    /// <summary>Files <paramref name="owner"/> holds open now.</summary>
    public int OpenBy(string owner)
    {
        lock (_lock) return _byOwner.GetValueOrDefault(owner);
    }

    /// <summary>Takes one file for <paramref name="owner"/>, or throws EMFILE naming the cap that is spent.</summary>
    internal void Take(string owner, string device)
    {
        lock (_lock)
        {
            if (_open >= Total)
                ErrnoException.Throw(Errno.EMFILE, $"{device}: guest contexts already hold {_open} DRM files on this host ({TotalKey} = {Total})");
            int held = _byOwner.GetValueOrDefault(owner);
            if (held >= PerOwner)
                ErrnoException.Throw(Errno.EMFILE, $"{device}: guest {owner} already holds {held} DRM files ({PerOwnerKey} = {PerOwner})");
            _byOwner[owner] = held + 1;
            _open++;
        }
    }

    internal void Return(string owner)
    {
        lock (_lock)
        {
            int held = _byOwner.GetValueOrDefault(owner);
            if (held <= 0) throw new InvalidOperationException($"DRM file of {owner} returned more often than taken");
            if (held == 1) _byOwner.Remove(owner);
            else _byOwner[owner] = held - 1;
            _open--;
        }
    }
}
