using PvDrm.Native.Tests.Drm;
using PvDrm.Tests.Shim;

namespace PvDrm.Tests.Vm;

/// <summary>
/// One VM guest (deploy/vm/run.sh), booted once for the class, against a pvdrm-host on this
/// machine (SoftGpu with the nouveau personality) over TCP, with a shared region (ivshmem): in
/// the VM, an unmodified libdrm_nouveau program (Vm/native/vm_nouveau.c, Debian's
/// libdrm_nouveau) runs through the proxy's shim with `pvdrm-guest exec` and prints each step's
/// outcome. Its buffers are mapped from the region, so it writes the pages the host's engines read.
/// </summary>
public sealed class VmShimFixture : IAsyncLifetime
{
    internal TcpHost Host { get; private set; } = null!;

    /// <summary>What the program printed, once the VM has powered off.</summary>
    public string Output { get; private set; } = "";

    public int Exit { get; private set; }

    public async Task InitializeAsync()
    {
        NativeToolchain.Ensure(VirtualMachines.Gap, VirtualMachines.Require);
        NativeToolchain.Ensure(ShimPrograms.Gap, ShimPrograms.Require);
        string program = NativeToolchain.CompileIn(Path.Combine(NativeToolchain.RepoRoot, "tests", "PvDrm.Tests", "Vm", "native"),
            "vm_nouveau", ["vm_nouveau.c"], ["libdrm", "libdrm_nouveau"], "m");
        Host = await TcpHost.StartWithAsync("""
            pvdrm.host.soft-gpu.personality = nouveau
            pvdrm.host.guests.vm1.shared-memory = 64 MiB
            pvdrm.host.shared-memory-dir = "$HOSTDIR"
            """, "vm1");
        using var vm = VmRun.Start("run.sh", Host["qemu.pid"], "--config", Host.Config, "--name", "vm1", "--bin", VirtualMachines.Bin,
            "--timeout", "600", "--", "pvdrm-guest", "exec", "--", program, "32");
        Exit = await vm.ExitAsync();
        Output = vm.Stdout + vm.Stderr;
    }

    public Task DisposeAsync()
    {
        Host?.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(VirtualMachines.Collection)]
public sealed class VmShimTests(VmShimFixture vm) : IClassFixture<VmShimFixture>
{
    private static readonly string[] Works =
    [
        "open", "nouveau_drm_new", "nouveau_device_new", "nouveau_client_new", "nouveau_bo_new", "nouveau_bo_map", "GEM_INFO",
        "nouveau_bo_name_get", "nouveau_device_wrap", "nouveau_bo_name_ref", "channel", "nouveau_pushbuf_new",
        "nouveau_pushbuf_space", "nouveau_pushbuf_refn", "nouveau_pushbuf_kick", "nouveau_bo_wait", "close",
    ];

    private void Printed(string line) =>
        Assert.True(vm.Output.Split('\n').Any(l => l.TrimEnd() == line), $"the program did not print '{line}':\n{vm.Output}");

    [VmFact]
    public void An_unmodified_libdrm_nouveau_program_in_a_VM_maps_its_buffers_from_the_shared_region_and_its_gemm_verifies()
    {
        foreach (string step in Works) Printed($"ok {step}");
        // A, B and the commands were written through the mappings only (ABI16 has no write
        // ioctl), and C read back through one: the host's engines used the VM's very pages.
        Printed("ok FILL and GEMM verified through the mappings");
        // A buffer of the region is never passed as a descriptor (it would be the whole region).
        Printed("fail nouveau_bo_set_prime: EOPNOTSUPP");
        Printed("skip nouveau_bo_prime_handle_ref: no PRIME descriptor");
        Printed("1 failed");
        Assert.True(vm.Exit == 1, $"exit {vm.Exit}:\n{vm.Output}");
    }
}
