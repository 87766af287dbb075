using PvDrm.Native.Gpu;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Gem;

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
    private int _descriptor; // 1 once the owner is charged a descriptor for the object's memory

    /// <param name="buffer">Its one reference becomes the creating handle's.</param>
    /// <param name="charged">Bytes charged to <paramref name="owner"/>'s quota, returned with the last handle.</param>
    /// <param name="descriptorCharged">The owner was charged a descriptor already (an adopted memfd has one from the start).</param>
    public HostGem(IGpuBuffer buffer, IGpuDevice device, GuestSession owner, ulong charged, GemTable table, bool descriptorCharged = false)
    {
        _descriptor = descriptorCharged ? 1 : 0;
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

    /// <summary>
    /// Charges the owner one descriptor (limits.descriptors-per-guest) before anything makes the
    /// object's memory exist: a write, a hand-out, a pushbuf. Once per object; false when over.
    /// </summary>
    public bool ChargeDescriptor()
    {
        if (Volatile.Read(ref _descriptor) != 0) return true;
        if (!Owner.Quota.Descriptors.TryTake()) return false;
        if (Interlocked.CompareExchange(ref _descriptor, 1, 0) != 0) Owner.Quota.Descriptors.Return();
        return true;
    }

    /// <summary>Why <see cref="ChargeDescriptor"/> refused, as the request's message.</summary>
    public string DescriptorRefusal(string op)
    {
        var budget = Owner.Quota.Descriptors;
        return $"{op}: guest {Owner.Name} already holds {budget.Used} buffer descriptors, each also a host mapping ({budget.Key} = {budget.Limit}); free or stop using buffers first";
    }

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
        if (!last) return;
        Owner.ReleaseMemory(Charged);
        if (Interlocked.Exchange(ref _descriptor, 0) != 0) Owner.Quota.Descriptors.Return();
    }
}
