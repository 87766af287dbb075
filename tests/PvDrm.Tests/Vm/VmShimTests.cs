using PvDrm.Native.Tests.Drm;
using PvDrm.Tests.Shim;

namespace PvDrm.Tests.Vm;

/// <summary>
/// One VM guest (deploy/vm/run.sh), booted once for the class, against a pvdrm-host on this
/// machine (SoftGpu with the nouveau personality) over TCP: in the VM, an unmodified
/// libdrm_nouveau program (Vm/native/vm_nouveau.c, Debian's libdrm_nouveau) runs through the
/// proxy's shim with `pvdrm-guest exec` and prints each step's outcome.
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
        Host = await TcpHost.StartAsync("pvdrm.host.soft-gpu.personality = nouveau", "vm1");
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

public sealed class VmShimTests(VmShimFixture vm) : IClassFixture<VmShimFixture>
{
    private static readonly string[] Works =
    [
        "open", "nouveau_drm_new", "nouveau_device_new", "nouveau_client_new", "nouveau_bo_new", "GEM_INFO",
        "nouveau_bo_name_get", "nouveau_device_wrap", "nouveau_bo_name_ref", "channel", "nouveau_pushbuf_new", "close",
    ];

    private void Printed(string line) =>
        Assert.True(vm.Output.Split('\n').Any(l => l.TrimEnd() == line), $"the program did not print '{line}':\n{vm.Output}");

    [VmFact]
    public void An_unmodified_libdrm_nouveau_program_in_a_VM_runs_through_the_shim_over_TCP_except_what_needs_a_mapping()
    {
        foreach (string step in Works) Printed($"ok {step}");
        // Nothing maps over TCP: the host can pass no descriptor, so mmap and PRIME export are
        // refused, and libdrm_nouveau writes its commands through a mapping of its push buffer.
        Printed("fail nouveau_bo_map: EOPNOTSUPP");
        Printed("fail nouveau_bo_set_prime: EOPNOTSUPP");
        Printed("skip nouveau_bo_prime_handle_ref: no PRIME descriptor");
        Printed("fail nouveau_pushbuf_space: EOPNOTSUPP");
        Printed("skip nouveau_pushbuf_kick: no mapping");
        Printed("skip FILL and GEMM verified through the mappings: no mapping");
        Printed("3 failed");
        Assert.True(vm.Exit == 1, $"exit {vm.Exit}:\n{vm.Output}");
    }
}
