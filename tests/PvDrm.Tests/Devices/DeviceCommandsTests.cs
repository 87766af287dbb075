using System.Text.Json;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Host.Demo;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Devices;

/// <summary>
/// An operator gives guests devices on a running pvdrm-host with two SoftGpus, every step a real
/// process: devices, attach, detach, the guest's own view, and bad input and configuration.
/// </summary>
public class DeviceCommandsTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    private Task<ChildProcess> Run(string program, params string[] args) => _run.Run(program, args);

    private Task<ChildProcess> Admin(params string[] args) => Run("pvdrm-host", [.. args, "--config", _run["host.hocon"]]);

    private Task<ChildProcess> Gemm(string guest) =>
        Run("pvdrm-guest", "run", "gemm", "--host", $"unix:{_run["host.sock"]}", "--name", guest, "--size", "64", "--iterations", "2");

    [Fact]
    public async Task An_operator_attaches_and_detaches_guests_on_a_host_with_two_devices()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              soft-gpu.engines = 1
              devices {
                soft0 { type = soft, memory = 256 MiB }
                soft1 { type = soft, memory = 128 MiB }
              }
              default-device = none
              guests {
                vm1 { device = soft0 }
              }
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run["host.hocon"]);
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
        await host.WaitForFileAsync(_run["host.sock"], Timeout); // made after the control socket

        var vm1 = await Gemm("vm1");
        Assert.True(vm1.ExitCode == 0 && vm1.Stdout.Contains("verified"), vm1.Stdout + vm1.Stderr);
        // No device yet: the guest's workload fails with the host's reason, not a hang. It has
        // gone again, but having connected, it can be given a device for its next connection.
        var early = await Gemm("vm3");
        Assert.Equal(1, early.ExitCode);
        Assert.Contains("guest vm3 has no device attached", early.Stderr);
        var ahead = await Admin("attach", "--guest", "vm3", "--device", "soft1");
        Assert.Contains("guest vm3 is not connected; it gets device soft1 when it connects", ahead.Stdout);
        var later = await Gemm("vm3");
        Assert.True(later.ExitCode == 0 && later.Stdout.Contains("verified"), later.Stdout + later.Stderr);

        await using var vm2 = await DrmClient.ConnectAsync($"unix:{_run["host.sock"]}", new DrmClientOptions { Name = "vm2" });
        Assert.Equal(Errno.ENODEV, (await Assert.ThrowsAsync<DrmException>(() => vm2.OpenContextAsync())).Errno);
        var attach = await Admin("attach", "--guest", "vm2", "--device", "soft1");
        Assert.True(attach.ExitCode == 0, attach.Stderr);
        Assert.Contains("guest vm2 attached to soft1", attach.Stdout);
        await using (var ctx = await vm2.OpenContextAsync())
            await Verified.FillAndCheck(ctx, 0x42);

        var json = await Admin("devices", "--json");
        Assert.True(json.ExitCode == 0, json.Stderr);
        var devices = JsonSerializer.Deserialize<List<ControlProtocol.DeviceStatus>>(json.Stdout, ControlProtocol.Json)!;
        Assert.Equal(["soft0", "soft1"], devices.Select(d => d.Name));
        Assert.Equal(["vm2"], devices[1].Guests);
        Assert.Equal((128L << 20, "soft"), (devices[1].MemoryBytes, devices[1].Kind));
        Assert.True(devices[0].Completed > 0 && devices[1].Completed > 1, json.Stdout);
        // Attached but gone: vm1 by the configuration, vm3 by the operator; shown, marked as not connected.
        Assert.Equal(["vm1"], devices[0].Waiting!);
        Assert.Equal(["vm3"], devices[1].Waiting!);
        var table = await Admin("devices");
        Assert.Contains("soft1", table.Stdout);
        Assert.Contains("vm2", table.Stdout);
        Assert.Contains("vm1", table.Stdout);

        var detach = await Admin("detach", "--guest", "vm2");
        Assert.True(detach.ExitCode == 0, detach.Stderr);
        Assert.Contains("guest vm2 detached from soft1", detach.Stdout);
        Assert.Equal(Errno.ENODEV, (await Assert.ThrowsAsync<DrmException>(() => vm2.OpenContextAsync())).Errno);

        var unknownGuest = await Admin("attach", "--guest", "nobody", "--device", "soft0");
        Assert.Equal((1, true), (unknownGuest.ExitCode, unknownGuest.Stderr.Contains("no guest named 'nobody' has connected to this host")));
        var unknownDevice = await Admin("attach", "--guest", "vm2", "--device", "gpu9");
        Assert.Equal((1, true), (unknownDevice.ExitCode, unknownDevice.Stderr.Contains("no device named 'gpu9'")));
        // Every admin command answers in JSON for scripts, with the same exit codes.
        var scripted = await Admin("attach", "--guest", "vm2", "--device", "gpu9", "--json");
        Assert.Equal(1, scripted.ExitCode);
        using (var answer = JsonDocument.Parse(scripted.Stdout))
        {
            Assert.False(answer.RootElement.GetProperty("ok").GetBoolean());
            Assert.Contains("no device named 'gpu9'", answer.RootElement.GetProperty("message").GetString());
        }

        host.Signal(Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Admin_commands_without_a_running_host_and_hosts_with_bad_device_settings_fail_with_a_message()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host.control.unix = "{{_run["control.sock"]}}"
            pvdrm.host.guests.vm9.device = gpu9
            """);
        var nobody = await Admin("devices");
        Assert.Equal(1, nobody.ExitCode);
        Assert.Contains("no PvDrm host answers on", nobody.Stderr);

        var bad = await Run("pvdrm-host", "serve", "--config", _run["host.hocon"], "--listen", $"unix:{_run["host.sock"]}");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("pvdrm.host.guests.vm9.device: 'gpu9' is not a device of this host (soft0)", bad.Stderr);
    }

    public void Dispose() => _run.Dispose();
}
