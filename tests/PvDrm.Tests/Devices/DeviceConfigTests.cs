using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Tests.Devices;

/// <summary>pvdrm.host.devices, default-device and guests: what they make, and bad values refused at start-up naming the key.</summary>
public class DeviceConfigTests
{
    private static HostSettings Settings(string hocon) => HostSettings.Create(PvDrmConfig.Load(null, hocon));

    [Fact]
    public void Without_a_devices_block_the_host_has_one_SoftGpu_soft0_that_every_guest_gets()
    {
        using var devices = DeviceFactory.CreateAll(Settings(""));
        var device = Assert.Single(devices.All);
        Assert.Equal(("soft0", "soft0"), (device.Name, devices.Default));
    }

    [Fact]
    public void Devices_are_opened_in_file_order_with_their_own_settings_over_soft_gpu()
    {
        var settings = Settings("""
            pvdrm.host {
              soft-gpu { memory = 64 MiB, engines = 1 }
              devices {
                small { type = soft }
                big { type = soft, memory = 128 MiB }
              }
              default-device = none
              guests {
                vm1 { device = big }
                "vm.2" { device = none }
              }
            }
            """);
        using var devices = DeviceFactory.CreateAll(settings);
        Assert.Equal(["small", "big"], devices.All.Select(d => d.Name));
        Assert.Null(devices.Default);
        Assert.Equal(64UL << 20, ((SoftGpu)devices.All[0]).Options.MemoryBytes);
        Assert.Equal((128UL << 20, 1), (((SoftGpu)devices.All[1]).Options.MemoryBytes, ((SoftGpu)devices.All[1]).Options.Engines));
        Assert.Equal(new Dictionary<string, string?> { ["vm1"] = "big", ["vm.2"] = null }, settings.GuestDevices);
    }

    [Theory]
    [InlineData("devices { gpu0 { type = vulkan } }", "pvdrm.host.devices.gpu0.type")]
    [InlineData("devices { gpu0 { type = drm, path = renderD128 } }", "pvdrm.host.devices.gpu0.path")]
    [InlineData("devices { gpu0 { type = soft, memory = lots } }", "pvdrm.host.devices.gpu0.memory")]
    [InlineData("devices { \"-bad\" { type = soft } }", "pvdrm.host.devices.-bad")]
    [InlineData("devices = [1]", "pvdrm.host.devices")]
    [InlineData("guests { vm1 { } }", "pvdrm.host.guests.vm1.device")]
    public void A_bad_device_or_guest_entry_is_refused_naming_its_key(string hocon, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => Settings($"pvdrm.host {{ {hocon} }}"));
        Assert.StartsWith(key, error.Message);
    }

    [Theory]
    [InlineData("devices { soft1 { type = soft } }", "pvdrm.host.default-device: 'soft0' is not a device of this host (soft1)")]
    [InlineData("default-device = gpu0", "pvdrm.host.default-device: 'gpu0' is not a device of this host (soft0)")]
    [InlineData("guests { vm1 { device = gpu0 } }", "pvdrm.host.guests.vm1.device: 'gpu0' is not a device of this host (soft0)")]
    [InlineData("devices { gpu0 { type = drm, path = /nonexistent/renderD128 } }", "pvdrm.host.devices.gpu0.path: cannot open /nonexistent/renderD128")]
    public void Naming_a_device_the_host_does_not_have_or_cannot_open_stops_start_up_naming_the_key(string hocon, string message)
    {
        var settings = Settings($"pvdrm.host {{ {hocon} }}");
        var error = Assert.Throws<ConfigurationException>(() => DeviceFactory.CreateAll(settings));
        Assert.StartsWith(message, error.Message);
    }
}
