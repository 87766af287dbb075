using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Guest;

namespace PvDrm.Actors.Host.Gem;

/// <summary>
/// PRIME_IMPORT of memory no host object owns (a memfd or dma-buf another process made): it
/// becomes a new object of the importing guest. Order matters against a guest that races its
/// own descriptor: seal first (no resizing, no seal afterwards, none that forbids writing), read
/// the size once, charge memory and a descriptor, and only then let the device map and adopt a
/// duplicate. Every failure undoes what was charged and closes the duplicate.
/// </summary>
internal static class PrimeAdoption
{
    /// <summary>The new object, or null after answering <paramref name="r"/> with why not.</summary>
    public static HostGem? Adopt(PrimeImport r, FileDescriptor fd, GuestSession session, IGpuDevice device, IGpuSession file)
    {
        ulong size;
        try
        {
            // A memfd is sealed here, before its size means anything; a dma-buf's size is fixed.
            size = MemFd.IsSealable(fd) ? MemFd.SealForImport(fd) : MemFd.SizeOf(fd);
        }
        catch (ErrnoException e)
        {
            r.Fail(e.Errno, $"PRIME_IMPORT: {e.Message}");
            return null;
        }
        if (!session.ChargeMemory(r, size, out ulong charge)) return null;
        if (!session.Quota.Descriptors.TryTake())
        {
            session.ReleaseMemory(charge);
            var budget = session.Quota.Descriptors;
            r.Fail(Errno.EMFILE, $"PRIME_IMPORT: guest {session.Name} already holds {budget.Used} buffer descriptors ({budget.Key} = {budget.Limit})");
            return null;
        }
        FileDescriptor? duplicate = null;
        try
        {
            duplicate = fd.Duplicate();
            var buffer = file.ImportBuffer(duplicate, GemDomain.Gart);
            return new HostGem(buffer, device, session, charge, session.Gems, descriptorCharged: true);
        }
        catch (ErrnoException e)
        {
            duplicate?.Dispose(); // the device may have closed it already; closing twice is safe
            session.Quota.Descriptors.Return();
            session.ReleaseMemory(charge);
            r.Fail(e.Errno, $"PRIME_IMPORT: {e.Message}");
            return null;
        }
    }
}
