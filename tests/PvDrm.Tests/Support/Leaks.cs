using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Support;

/// <summary>What this process holds open, read from /proc: the host's memfds are its GEM buffers.</summary>
internal static class Leaks
{
    /// <summary>Open descriptors of this process that are PvDrm buffer memfds of <paramref name="device"/>.</summary>
    public static int BufferFds(string device) => Fds($"/memfd:pvdrm-{device} ");

    /// <summary>Open descriptors of this process that are memfds named <paramref name="name"/> (or starting with it).</summary>
    public static int MemFds(string name) => Fds($"/memfd:{name}");

    /// <summary>
    /// Open descriptors whose target starts with <paramref name="prefix"/>. A memfd's target is
    /// "/memfd:NAME (deleted)": end the prefix with the space so device test1 does not count test12's.
    /// </summary>
    public static int Fds(string prefix) => Directory.GetFiles("/proc/self/fd").Count(fd =>
    {
        try
        {
            return new FileInfo(fd).LinkTarget?.StartsWith(prefix, StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false; // closed while we looked
        }
    });

    /// <summary>Mappings of this process (lines of /proc/self/maps) of PvDrm buffer memfds of <paramref name="device"/>.</summary>
    public static int BufferMappings(string device) => Mappings($"/memfd:pvdrm-{device} ");

    /// <summary>Mappings of this process (lines of /proc/self/maps) that contain <paramref name="needle"/>.</summary>
    public static int Mappings(string needle) =>
        File.ReadLines("/proc/self/maps").Count(line => line.Contains(needle, StringComparison.Ordinal));

    /// <summary>Bytes of memory the file behind <paramref name="fd"/> holds (st_blocks, 512-byte units).</summary>
    public static unsafe long ResidentBytes(FileDescriptor fd)
    {
        stat st;
        Assert.Equal(0, fstat(fd.Number, &st));
        return (long)st.st_blocks * 512;
    }

}
