using System.Reflection;
using PvDrm.Native.Drm;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.IoctlHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// The uapi without a compiler: numbers pinned to what the layout probe printed on x86-64, the
/// device seam's numbering against the headers' constants, and the allowlists.
/// </summary>
public class DrmUapiTests
{
    [Theory]
    [InlineData("DRM_IOCTL_VERSION", 0xC0406400)]
    [InlineData("DRM_IOCTL_GEM_CLOSE", 0x40086409)]
    [InlineData("DRM_IOCTL_GEM_FLINK", 0xC008640A)]
    [InlineData("DRM_IOCTL_GEM_OPEN", 0xC010640B)]
    [InlineData("DRM_IOCTL_GET_CAP", 0xC010640C)]
    [InlineData("DRM_IOCTL_PRIME_HANDLE_TO_FD", 0xC00C642D)]
    [InlineData("DRM_IOCTL_PRIME_FD_TO_HANDLE", 0xC00C642E)]
    [InlineData("DRM_IOCTL_MODE_CREATE_DUMB", 0xC02064B2)]
    [InlineData("DRM_IOCTL_MODE_MAP_DUMB", 0xC01064B3)]
    [InlineData("DRM_IOCTL_MODE_DESTROY_DUMB", 0xC00464B4)]
    [InlineData("DRM_IOCTL_NOUVEAU_GETPARAM", 0xC0106440)]
    [InlineData("DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC", 0xC0586442)]
    [InlineData("DRM_IOCTL_NOUVEAU_CHANNEL_FREE", 0x40046443)]
    [InlineData("DRM_IOCTL_NOUVEAU_GEM_NEW", 0xC0306480)]
    [InlineData("DRM_IOCTL_NOUVEAU_GEM_PUSHBUF", 0xC0406481)]
    [InlineData("DRM_IOCTL_NOUVEAU_GEM_CPU_PREP", 0x40086482)]
    [InlineData("DRM_IOCTL_NOUVEAU_GEM_CPU_FINI", 0x40046483)]
    [InlineData("DRM_IOCTL_NOUVEAU_GEM_INFO", 0xC0286484)]
    public void Each_ioctl_number_is_the_one_the_C_headers_produce_on_x86_64(string name, uint expected)
    {
        var field = typeof(DrmHeader).GetField(name, BindingFlags.Public | BindingFlags.Static)
                    ?? typeof(NouveauDrm).GetField(name, BindingFlags.Public | BindingFlags.Static);
        Assert.NotNull(field);
        Assert.Equal($"0x{expected:x8}", $"0x{(uint)field.GetValue(null)!:x8}");
        Assert.Equal(name, DrmIoctlNames.Of(expected));
    }

    [Fact]
    public void The_ioctl_helpers_pack_and_unpack_direction_type_number_and_size_as_asm_generic_ioctl_h_does()
    {
        uint version = _IOWR<drm_version>('d', 0x00);
        Assert.Equal(0xC0406400u, version);
        Assert.Equal(_IOC_READ | _IOC_WRITE, _IOC_DIR(version));
        Assert.Equal((uint)'d', _IOC_TYPE(version));
        Assert.Equal(0u, _IOC_NR(version));
        Assert.Equal(64u, _IOC_SIZE(version));
        Assert.Equal(0x40046443u, _IOW<drm_nouveau_channel_free>('d', 0x43));
        Assert.Equal(0x6400u, _IO('d', 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _IOC(_IOC_READ, 'd', 0x100, 0));
    }

    [Fact]
    public void The_device_seam_numbers_params_domains_and_caps_as_nouveau_and_drm_do()
    {
        Assert.Equal(NOUVEAU_GETPARAM_PCI_VENDOR, DeviceParam.PciVendor);
        Assert.Equal(NOUVEAU_GETPARAM_PCI_DEVICE, DeviceParam.PciDevice);
        Assert.Equal(NOUVEAU_GETPARAM_BUS_TYPE, DeviceParam.BusType);
        Assert.Equal(NOUVEAU_GETPARAM_FB_SIZE, DeviceParam.FbSize);
        Assert.Equal(NOUVEAU_GETPARAM_AGP_SIZE, DeviceParam.AgpSize);
        Assert.Equal(NOUVEAU_GETPARAM_CHIPSET_ID, DeviceParam.ChipsetId);
        Assert.Equal(NOUVEAU_GETPARAM_VM_VRAM_BASE, DeviceParam.VmVaddrBase);
        Assert.Equal(NOUVEAU_GETPARAM_GRAPH_UNITS, DeviceParam.GraphUnits);
        Assert.Equal(NOUVEAU_GETPARAM_PTIMER_TIME, DeviceParam.PtimerTime);
        Assert.Equal(NOUVEAU_GETPARAM_HAS_BO_USAGE, DeviceParam.HasBoUsage);
        Assert.Equal(NOUVEAU_GETPARAM_HAS_PAGEFLIP, DeviceParam.HasPageflip);

        Assert.Equal(NOUVEAU_GEM_DOMAIN_CPU, (uint)GemDomain.Cpu);
        Assert.Equal(NOUVEAU_GEM_DOMAIN_VRAM, (uint)GemDomain.Vram);
        Assert.Equal(NOUVEAU_GEM_DOMAIN_GART, (uint)GemDomain.Gart);
        Assert.Equal(NOUVEAU_GEM_DOMAIN_MAPPABLE, (uint)GemDomain.Mappable);

        Assert.Equal(DRM_CAP_DUMB_BUFFER, DeviceCap.DumbBuffer);
        Assert.Equal(DRM_CAP_VBLANK_HIGH_CRTC, DeviceCap.VblankHighCrtc);
        Assert.Equal(DRM_CAP_DUMB_PREFERRED_DEPTH, DeviceCap.DumbPreferredDepth);
        Assert.Equal(DRM_CAP_DUMB_PREFER_SHADOW, DeviceCap.DumbPreferShadow);
        Assert.Equal(DRM_CAP_PRIME, DeviceCap.Prime);
        Assert.Equal(DRM_CAP_TIMESTAMP_MONOTONIC, DeviceCap.TimestampMonotonic);
        Assert.Equal(DRM_CAP_SYNCOBJ, DeviceCap.SyncObj);
        Assert.Equal(DRM_PRIME_CAP_IMPORT, DeviceCap.PrimeImport);
        Assert.Equal(DRM_PRIME_CAP_EXPORT, DeviceCap.PrimeExport);
    }

    [Fact]
    public void Nouveau_gets_the_core_and_nouveau_ioctls_and_every_other_driver_the_core_and_dumb_ones()
    {
        var nouveau = DrmAllowlist.For("nouveau");
        var other = DrmAllowlist.For("i915");
        Assert.Equal(DrmAllowlist.Core.Concat(DrmAllowlist.Nouveau).Order(), nouveau.Numbers.Order());
        Assert.Equal(DrmAllowlist.Core.Concat(DrmAllowlist.Dumb).Order(), other.Numbers.Order());
        Assert.False(other.Allows(DRM_IOCTL_NOUVEAU_GEM_PUSHBUF));
        Assert.False(nouveau.Allows(DRM_IOCTL_MODE_CREATE_DUMB));
        Assert.Equal([DRM_IOCTL_VERSION], DrmAllowlist.Probe.Numbers);
    }

    [Fact]
    public void Global_flink_names_and_imports_are_allowed_for_no_driver()
    {
        foreach (var allowlist in new[] { DrmAllowlist.For("nouveau"), DrmAllowlist.For("i915"), DrmAllowlist.For("fakedrm") })
        {
            Assert.False(allowlist.Allows(DRM_IOCTL_GEM_FLINK));
            Assert.False(allowlist.Allows(DRM_IOCTL_GEM_OPEN));
            Assert.False(allowlist.Allows(DRM_IOCTL_PRIME_FD_TO_HANDLE));
        }
    }

    [Fact]
    public void An_ioctl_without_a_name_is_described_by_its_fields()
    {
        Assert.Equal("ioctl 0xc04064a0 (type 0x64, nr 0xa0, 64 bytes)", DrmIoctlNames.Of(0xC04064A0));
    }
}
