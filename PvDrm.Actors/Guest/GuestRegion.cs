using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The guest's side of its shared region in a VM: the BAR of the ivshmem-plain device (PCI
/// 1af4:1110) through which the VM sees the host's region file. The host answers GEM_MAP of a
/// buffer in the region with its offset; programs are given this file and that offset, so they
/// map the very pages the host's engines use.
/// </summary>
public sealed class GuestRegion : IDisposable
{
    private const string Devices = "/sys/bus/pci/devices";

    private GuestRegion(string path, FileDescriptor fd, ulong size) => (Path, Fd, Size) = (path, fd, size);

    public string Path { get; }

    /// <summary>The open BAR file; passed to programs (SCM_RIGHTS duplicates it), never closed by them.</summary>
    public FileDescriptor Fd { get; }

    public ulong Size { get; }

    /// <summary>
    /// The region of <c>pvdrm.guest.shared-memory</c>: "auto" finds the first ivshmem device's
    /// BAR 2 (null when the VM has none), a path names the file; "" is none.
    /// </summary>
    public static GuestRegion? Open(string setting)
    {
        if (setting.Length == 0) return null;
        string? path = setting == "auto" ? Find() : setting;
        if (path == null) return null;
        FileDescriptor handle;
        try
        {
            // .NET opens with O_CLOEXEC; the descriptor is taken over from its handle.
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            handle = new FileDescriptor((int)file.DangerousGetHandle(), ownsHandle: false).Duplicate();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ErrnoException(Errno.EACCES, $"cannot open {path} (pvdrm.guest.shared-memory): {e.Message}");
        }
        try
        {
            return new GuestRegion(path, handle, MemFd.SizeOf(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>BAR 2 of the first PCI device whose vendor and device are ivshmem's (1af4:1110), or null.</summary>
    private static string? Find()
    {
        if (!Directory.Exists(Devices)) return null;
        foreach (string device in Directory.GetDirectories(Devices).Order(StringComparer.Ordinal))
        {
            string Read(string name) => File.Exists(System.IO.Path.Combine(device, name)) ? File.ReadAllText(System.IO.Path.Combine(device, name)).Trim() : "";
            if (Read("vendor") == "0x1af4" && Read("device") == "0x1110" && File.Exists(System.IO.Path.Combine(device, "resource2")))
                return System.IO.Path.Combine(device, "resource2");
        }
        return null;
    }

    /// <summary>True when <paramref name="length"/> bytes at <paramref name="offset"/> lie inside the region.</summary>
    public bool Holds(ulong offset, ulong length) => offset <= Size && length <= Size - offset;

    /// <summary>
    /// Whether a program may be given <paramref name="region"/>'s file for a buffer the host placed at
    /// <paramref name="offset"/> (GEM_MAP's region_offset): not when the proxy has no region
    /// (EOPNOTSUPP), nor when the host's range is not a page-aligned range inside it (EINVAL), since the
    /// program would map pages of the BAR that are not that buffer's.
    /// </summary>
    public static bool MayGrant(GuestRegion? region, ulong offset, ulong size, out int errno, out string why)
    {
        (errno, why) = region == null
            ? (Errno.EOPNOTSUPP, "the buffer lies in this guest's shared region, which the proxy has not opened (pvdrm.guest.shared-memory)")
            : offset % 4096 != 0 || !region.Holds(offset, size)
                ? (Errno.EINVAL, $"the host placed its {size} bytes at {offset}, outside the {region.Size}-byte shared region {region.Path} or off a page boundary (pvdrm.guest.shared-memory)")
                : (0, "");
        return errno == 0;
    }

    public void Dispose() => Fd.Dispose();
}
