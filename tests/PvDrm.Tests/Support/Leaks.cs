namespace PvDrm.Tests.Support;

/// <summary>What this process holds open, read from /proc: the host's memfds are its GEM buffers.</summary>
internal static class Leaks
{
    /// <summary>Open descriptors of this process that are PvDrm buffer memfds.</summary>
    public static int BufferFds(string device) => Directory.GetFiles("/proc/self/fd").Count(fd =>
    {
        try
        {
            return new FileInfo(fd).LinkTarget?.StartsWith($"/memfd:pvdrm-{device}", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false; // closed while we looked
        }
    });
}
