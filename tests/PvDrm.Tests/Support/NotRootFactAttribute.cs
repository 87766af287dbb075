namespace PvDrm.Tests.Support;

/// <summary>
/// A test of file permissions: root reads a file whatever its mode, so as root the test cannot
/// show anything and is skipped, saying so.
/// </summary>
public sealed class NotRootFactAttribute : FactAttribute
{
    public NotRootFactAttribute()
    {
        if (Tmds.Linux.LibC.geteuid() == 0) Skip = "runs as root, which reads a file whatever its mode: an unreadable file cannot be made";
    }
}
