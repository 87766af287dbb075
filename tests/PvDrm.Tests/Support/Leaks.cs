namespace PvDrm.Tests.Support;

/// <summary>What this process holds open, read from /proc: the host's memfds are its GEM buffers.</summary>
internal static class Leaks
{
    /// <summary>Open descriptors of this process that are PvDrm buffer memfds of <paramref name="device"/>.</summary>
    public static int BufferFds(string device) => Fds($"/memfd:pvdrm-{device} ");

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
}
