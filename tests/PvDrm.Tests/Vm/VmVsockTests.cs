using System.Text.Json;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Tests.Drm;

namespace PvDrm.Tests.Vm;

/// <summary>A fact that boots a VM guest over vsock: skipped, with the reason, without QEMU (as <see cref="VmFactAttribute"/>) or without this machine's /dev/vhost-vsock.</summary>
public sealed class VmVsockFactAttribute : FactAttribute
{
    public const string Device = "/dev/vhost-vsock";

    public VmVsockFactAttribute()
    {
        if (VirtualMachines.Gap is { } gap && !NativeToolchain.Required(VirtualMachines.Require))
            Skip = $"VM tests not run: {gap}";
        else if (!CanOpen())
            Skip = $"vsock VM guests not run: {Device} is missing or cannot be opened here (module vhost_vsock; QEMU's vhost-vsock-pci needs it)";
    }

    private static bool CanOpen()
    {
        try
        {
            using var device = File.Open(Device, FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>
/// One VM guest (deploy/vm/run.sh --transport vsock) against a pvdrm-host on this machine
/// listening on vsock (the VM reaches CID 2 through a vhost-vsock-pci device), booted once for the class.
/// </summary>
public sealed class VmVsockFixture : IAsyncLifetime
{
    internal TcpHost Host { get; private set; } = null!;

    public string Output { get; private set; } = "";

    public int Exit { get; private set; }

    public async Task InitializeAsync()
    {
        if (new VmVsockFactAttribute().Skip != null) return; // nothing to boot: the tests are skipped
        int port = 20000 + Environment.ProcessId % 20000;
        Host = await TcpHost.StartWithAsync($"pvdrm.host.listen.vsock = \"{port}\"", "vm1");
        using var vm = VmRun.Start("run.sh", Host["qemu.pid"], "--config", Host.Config, "--name", "vm1", "--bin", VirtualMachines.Bin,
            "--transport", "vsock", "--timeout", "600", "--", "pvdrm-guest", "run", "gemm", "--size", "64", "--iterations", "2", "--json");
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
public sealed class VmVsockTests(VmVsockFixture vm) : IClassFixture<VmVsockFixture>
{
    [VmVsockFact]
    public void A_guest_in_a_VM_verifies_gemm_over_vsock()
    {
        Assert.True(vm.Exit == 0, $"exit {vm.Exit}:\n{vm.Output}");
        string line = vm.Output.Split('\n').First(l => l.StartsWith('{'));
        var result = JsonSerializer.Deserialize<WorkloadResult>(line, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase })!;
        Assert.True(result.Verified, result.Error);
        Assert.Equal("vm1", result.Guest);
    }
}
