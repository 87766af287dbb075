using System.Text.Json;
using PvDrm.Guest.Workloads;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Vm;

/// <summary>
/// One VM guest (deploy/vm/run.sh), booted once for the class, against a pvdrm-host on this
/// machine over TCP with a token: it runs a verified GEMM, then a long one that a test kills
/// the VM in the middle of.
/// </summary>
public sealed class VmGuestFixture : IAsyncLifetime
{
    internal TcpHost Host { get; private set; } = null!;

    internal VmRun Vm { get; private set; } = null!;

    /// <summary>The host's device counters before the VM connected.</summary>
    internal PvDrm.Actors.Host.Control.ControlProtocol.DeviceStatus Baseline { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Native.Tests.Drm.NativeToolchain.Ensure(VirtualMachines.Gap, VirtualMachines.Require);
        Host = await TcpHost.StartAsync("vm1");
        Baseline = (await Host.StatusAsync()).Devices[0];
        Vm = VmRun.Start("run.sh", Host["qemu.pid"], "--config", Host.Config, "--name", "vm1", "--bin", VirtualMachines.Bin, "--timeout", "600", "--",
            "bash", "-c", "pvdrm-guest run gemm --size 64 --iterations 2 --json && pvdrm-guest run gemm --size 192 --iterations 10000");
    }

    public Task DisposeAsync()
    {
        Vm?.Dispose();
        Host?.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(VirtualMachines.Collection)]
public sealed class VmGuestTests(VmGuestFixture vm) : IClassFixture<VmGuestFixture>
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private async Task<WorkloadResult> FirstWorkload()
    {
        string line = await vm.Vm.LineAsync(l => l.StartsWith('{'));
        return JsonSerializer.Deserialize<WorkloadResult>(line, Json)!;
    }

    [VmFact]
    public async Task A_guest_in_a_VM_verifies_gemm_over_TCP_against_a_host_on_this_machine()
    {
        var result = await FirstWorkload();

        Assert.True(result.Verified, result.Error);
        Assert.Equal("copy", result.DataPath);   // nothing maps over TCP
        Assert.Equal("vm1", result.Guest);
        var status = await vm.Host.StatusAsync();
        Assert.True(status.Totals.GuestsAdmitted >= 1);
    }

    [VmFact]
    public async Task A_VM_killed_mid_workload_leaves_the_host_with_its_counters_back_at_baseline()
    {
        await FirstWorkload();
        // The second workload holds buffers on the host while it runs.
        await vm.Host.UntilAsync(s => s.Guests.Any(g => g.Name == "vm1" && g.Objects > 0), VirtualMachines.Timeout);

        vm.Vm.KillVm();

        var after = await vm.Host.UntilAsync(s => s.Guests.All(g => g.Name != "vm1") && AtBaseline(s.Devices[0]), TimeSpan.FromSeconds(60));
        var device = after.Devices[0];
        Assert.Equal(vm.Baseline.LiveBuffers, device.LiveBuffers);
        Assert.Equal(vm.Baseline.LiveBytes, device.LiveBytes);
        Assert.Equal(vm.Baseline.LiveChannels, device.LiveChannels);
        Assert.Equal(0, device.Running);
        Assert.Equal(125, await vm.Vm.ExitAsync());   // run.sh: the VM did not run the command to its end
    }

    private bool AtBaseline(PvDrm.Actors.Host.Control.ControlProtocol.DeviceStatus d) =>
        d.LiveBuffers == vm.Baseline.LiveBuffers && d.LiveBytes == vm.Baseline.LiveBytes && d.LiveChannels == vm.Baseline.LiveChannels && d.Running == 0;
}
