using System.Collections.Frozen;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Drm;

/// <summary>
/// The ioctls PvDrm may issue on a DRM node, chosen by driver name: exactly the calls
/// <see cref="DrmGpuDevice"/> makes for that driver, nothing more. GEM_FLINK/GEM_OPEN are never
/// in it (flink names are global and guessable across clients); neither is anything that
/// modesets, imports, or reaches a driver's private ioctls other than nouveau's listed ones.
/// </summary>
public sealed class DrmAllowlist
{
    private readonly FrozenSet<uint> _numbers;

    private DrmAllowlist(string driver, IEnumerable<uint> numbers)
    {
        Driver = driver;
        _numbers = numbers.ToFrozenSet();
    }

    /// <summary>The driver name from DRM_IOCTL_VERSION ("nouveau", "i915", ...).</summary>
    public string Driver { get; }

    public IReadOnlyCollection<uint> Numbers => _numbers;

    /// <summary>Before the driver is known: only DRM_IOCTL_VERSION, which names it.</summary>
    public static DrmAllowlist Probe { get; } = new("unidentified", [DRM_IOCTL_VERSION]);

    /// <summary>Every driver: identify, query capabilities, close a handle, export a dma-buf for guests.</summary>
    public static IReadOnlyList<uint> Core { get; } =
        [DRM_IOCTL_VERSION, DRM_IOCTL_GET_CAP, DRM_IOCTL_GEM_CLOSE, DRM_IOCTL_PRIME_HANDLE_TO_FD];

    /// <summary>Drivers without a PvDrm command path: buffers are dumb buffers.</summary>
    public static IReadOnlyList<uint> Dumb { get; } =
        [DRM_IOCTL_MODE_CREATE_DUMB, DRM_IOCTL_MODE_MAP_DUMB, DRM_IOCTL_MODE_DESTROY_DUMB];

    /// <summary>nouveau's legacy (ABI16) calls: parameters, channels, buffers, pushbufs, waits.</summary>
    public static IReadOnlyList<uint> Nouveau { get; } =
    [
        DRM_IOCTL_NOUVEAU_GETPARAM, DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC, DRM_IOCTL_NOUVEAU_CHANNEL_FREE,
        DRM_IOCTL_NOUVEAU_GEM_NEW, DRM_IOCTL_NOUVEAU_GEM_PUSHBUF,
        DRM_IOCTL_NOUVEAU_GEM_CPU_PREP, DRM_IOCTL_NOUVEAU_GEM_CPU_FINI,
    ];

    /// <summary>The set for <paramref name="driver"/>: Core plus Nouveau for "nouveau", Core plus Dumb otherwise.</summary>
    public static DrmAllowlist For(string driver) =>
        new(driver, IsNouveau(driver) ? Core.Concat(Nouveau) : Core.Concat(Dumb));

    public static bool IsNouveau(string driver) => driver == "nouveau";

    public bool Allows(uint request) => _numbers.Contains(request);

    /// <summary>The allowed ioctls by name, for refusal messages.</summary>
    public string Describe() => string.Join(", ", _numbers.Select(DrmIoctlNames.Of).Order(StringComparer.Ordinal));
}
