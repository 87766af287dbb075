using PvDrm.Native.Gpu;

namespace PvDrm.Actors.Host;

/// <summary>
/// One GEM object on the host, shared by every handle that names it: the creator's, and those
/// opened by GEM_IMPORT or PRIME_IMPORT in other contexts (and, where the sharing policy allows,
/// other guests). Each handle holds a buffer reference; when the last handle goes, the memory is
/// returned to the owner's quota and the object's global name dies with it.
/// </summary>
internal sealed class HostGem
{
    private readonly GemTable _table;
    private int _handles = 1;

    /// <param name="buffer">Its one reference becomes the creating handle's.</param>
    /// <param name="charged">Bytes charged to <paramref name="owner"/>'s quota, returned with the last handle.</param>
    public HostGem(IGpuBuffer buffer, IGpuDevice device, GuestSession owner, ulong charged, GemTable table)
    {
        Buffer = buffer;
        Device = device;
        Owner = owner;
        Charged = charged;
        _table = table;
    }

    public IGpuBuffer Buffer { get; }

    /// <summary>Where the object lives; it never moves, and only contexts on the same device may open it.</summary>
    public IGpuDevice Device { get; }

    /// <summary>The guest that created (and pays for) the object.</summary>
    public GuestSession Owner { get; }

    public ulong Charged { get; }

    /// <summary>The global name, once exported (0: none).</summary>
    public uint Name { get; set; }

    /// <summary>A new handle names this object; it holds its own buffer reference.</summary>
    public void AddHandle()
    {
        Interlocked.Increment(ref _handles);
        Buffer.AddRef();
    }

    /// <summary>A handle closed; the last one frees the quota and forgets the name.</summary>
    public void ReleaseHandle()
    {
        bool last = Interlocked.Decrement(ref _handles) == 0;
        if (last) _table.Forget(this);
        Buffer.Release();
        if (last) Owner.ReleaseMemory(Charged);
    }
}
