using System.Collections.Frozen;
using System.Reflection;
using PvDrm.Native.Drm.Uapi;
using static PvDrm.Native.Drm.Uapi.IoctlHeader;

namespace PvDrm.Native.Drm;

/// <summary>The C names of the ioctl numbers in the uapi files, for messages and the allowlists.</summary>
public static class DrmIoctlNames
{
    private static readonly FrozenDictionary<uint, string> s_names = typeof(DrmHeader).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Concat(typeof(NouveauDrm).GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f.Name.StartsWith("DRM_IOCTL_", StringComparison.Ordinal) && f.FieldType == typeof(uint))
        .ToFrozenDictionary(f => (uint)f.GetValue(null)!, f => f.Name);

    /// <summary>"DRM_IOCTL_GET_CAP", or the decoded fields of a number PvDrm has no name for.</summary>
    public static string Of(uint request) =>
        s_names.TryGetValue(request, out var name)
            ? name
            : $"ioctl 0x{request:x8} (type 0x{_IOC_TYPE(request):x2}, nr 0x{_IOC_NR(request):x2}, {_IOC_SIZE(request)} bytes)";
}
