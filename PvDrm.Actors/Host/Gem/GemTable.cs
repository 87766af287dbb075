using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Actors.Host.Gem;

/// <summary>
/// The host's shared GEM objects: global names (GEM_EXPORT/GEM_IMPORT) and the identity of
/// descriptors that left the host (GEM_MAP, PRIME_EXPORT), so a PRIME_IMPORT of one of them opens
/// the same object. Names are host-wide numbers but visible only to their owner guest, or to
/// guests the sharing policy puts in one group with it. Thread-safe.
/// </summary>
internal sealed class GemTable
{
    private readonly object _lock = new();
    private readonly Dictionary<uint, HostGem> _names = new();
    private readonly Dictionary<(ulong Device, ulong Inode), HostGem> _files = new();
    private readonly Dictionary<HostGem, (ulong, ulong)> _fileOf = new();
    private volatile IReadOnlyList<IReadOnlyList<string>> _groups; // read by every guest's actors, replaced by a reload
    private uint _lastName;

    public GemTable(IReadOnlyList<IReadOnlyList<string>> sharingGroups) => _groups = sharingGroups;

    /// <summary>pvdrm.host.sharing.groups, replaced by a reload: decides imports from then on.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SharingGroups
    {
        set => _groups = value;
    }

    /// <summary>Live names (status output, leak checks).</summary>
    public int Names
    {
        get { lock (_lock) return _names.Count; }
    }

    /// <summary>May <paramref name="guest"/> open objects owned by <paramref name="owner"/>?</summary>
    public bool MayShare(string owner, string guest) =>
        owner == guest || _groups.Any(g => g.Contains(owner) && g.Contains(guest));

    /// <summary>The object's global name, giving it one if it has none.</summary>
    public uint Export(HostGem gem)
    {
        lock (_lock)
        {
            if (gem.Name != 0) return gem.Name;
            do _lastName++;
            while (_lastName == 0 || _names.ContainsKey(_lastName));
            _names[_lastName] = gem;
            return gem.Name = _lastName;
        }
    }

    /// <summary>The object named <paramref name="name"/>, if <paramref name="guest"/> may see it.</summary>
    public HostGem? Lookup(uint name, string guest)
    {
        lock (_lock)
            return _names.TryGetValue(name, out var gem) && MayShare(gem.Owner.Name, guest) ? gem : null;
    }

    /// <summary>Remembers the file behind the object's descriptor, which is about to leave the host.</summary>
    public void Remember(HostGem gem)
    {
        var id = MemFd.Identity(gem.Buffer.Fd);
        lock (_lock)
            if (_fileOf.TryAdd(gem, id)) _files[id] = gem;
    }

    /// <summary>The live object a descriptor received from a guest refers to, if it is one of ours.</summary>
    public HostGem? LookupFile(FileDescriptor fd)
    {
        var id = MemFd.Identity(fd);
        lock (_lock) return _files.GetValueOrDefault(id);
    }

    public void Forget(HostGem gem)
    {
        lock (_lock)
        {
            if (gem.Name != 0) _names.Remove(gem.Name);
            if (_fileOf.Remove(gem, out var id)) _files.Remove(id);
        }
    }
}
