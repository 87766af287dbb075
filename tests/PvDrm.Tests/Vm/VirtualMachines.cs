using PvDrm.Native.Tests.Drm;

namespace PvDrm.Tests.Vm;

/// <summary>
/// The VM harness of deploy/vm (QEMU, Debian's kernel, busybox-static) as the tests use it, and
/// why it cannot run here, asked of the harness itself (vm-lib.sh's vm_gap).
/// </summary>
internal static class VirtualMachines
{
    /// <summary>Set to 1 (CI does) to make a missing QEMU, kernel or busybox a failure instead of a skip.</summary>
    public const string Require = "PVDRM_REQUIRE_VM";

    /// <summary>The xUnit collection of the classes that boot VMs.</summary>
    public const string Collection = "virtual machines";

    /// <summary>How long one VM may take, boot and dotnet start-up under software emulation included.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(6);

    private static readonly Lazy<string?> s_gap = new(FindGap);

    public static string Scripts { get; } = Path.Combine(NativeToolchain.RepoRoot, "deploy", "vm");

    /// <summary>Why VM guests cannot run here, or null.</summary>
    public static string? Gap => s_gap.Value;

    /// <summary>The folder of the built pvdrm-host and pvdrm-guest that the VMs run.</summary>
    public static string Bin => AppContext.BaseDirectory;

    private static string? FindGap()
    {
        if (!File.Exists(Path.Combine(Scripts, "vm-lib.sh"))) return $"{Scripts}/vm-lib.sh is missing";
        var probe = NativeToolchain.Run("bash", "-c", $"source '{Scripts}/vm-lib.sh' && vm_gap");
        string gap = probe.Output.Trim();
        return gap.Length > 0 ? gap : null;
    }
}

/// <summary>
/// The classes that boot VMs run one after another: VMs under software emulation booted at once
/// on a small machine each take several times longer, past the run's hang detection.
/// </summary>
[CollectionDefinition(VirtualMachines.Collection)]
public sealed class VirtualMachinesCollection
{
}

/// <summary>A fact that boots VM guests: skipped, with the reason, where QEMU, the kernel or busybox is missing (unless required).</summary>
public sealed class VmFactAttribute : FactAttribute
{
    public VmFactAttribute()
    {
        if (VirtualMachines.Gap is { } gap && !NativeToolchain.Required(VirtualMachines.Require))
            Skip = $"VM tests not run: {gap}. Install qemu-system-x86, linux-image-amd64 and busybox-static, or set {VirtualMachines.Require}=1 to fail instead";
    }
}

/// <summary>A theory that boots VM guests: skipped like <see cref="VmFactAttribute"/>.</summary>
public sealed class VmTheoryAttribute : TheoryAttribute
{
    public VmTheoryAttribute()
    {
        if (VirtualMachines.Gap is { } gap && !NativeToolchain.Required(VirtualMachines.Require))
            Skip = $"VM tests not run: {gap}. Install qemu-system-x86, linux-image-amd64 and busybox-static, or set {VirtualMachines.Require}=1 to fail instead";
    }
}
