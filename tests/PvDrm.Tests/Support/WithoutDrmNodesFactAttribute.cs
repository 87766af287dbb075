namespace PvDrm.Tests.Support;

/// <summary>
/// A test of what happens when a machine has no DRM node: where /dev/dri exists it cannot show
/// it, and is skipped, saying so (rather than passing without checking anything).
/// </summary>
public sealed class WithoutDrmNodesFactAttribute : FactAttribute
{
    public WithoutDrmNodesFactAttribute()
    {
        if (Directory.Exists("/dev/dri")) Skip = "this machine has /dev/dri: the fallback without a DRM node cannot be shown here";
    }
}
