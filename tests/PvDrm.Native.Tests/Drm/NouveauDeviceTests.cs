using PvDrm.Native.Drm;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// DrmGpuDevice's nouveau path against fake_drm --driver nouveau, which checks requests as
/// nouveau_drm.h defines them. There is no GPU behind it: this proves the encoding PvDrm sends,
/// not what a real nouveau kernel does with it (see DRM.md).
/// </summary>
public class NouveauDeviceTests(FakeNouveauFixture fixture) : IClassFixture<FakeNouveauFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private FakeDrm Fake => fixture.Fake;

    private DrmGpuDevice Open() => DrmGpuDevice.Open("nv0", Fake.DevicePath);

    [FakeDrmFact]
    public void Driver_parameters_come_from_GETPARAM_and_unknown_ones_are_false()
    {
        using var device = Open();
        long before = Fake.Count("DRM_IOCTL_NOUVEAU_GETPARAM");
        Assert.Equal("nouveau", device.Info.Driver);
        Assert.True(device.TryGetParam(DeviceParam.PciVendor, out ulong vendor));
        Assert.Equal(0x10deUL, vendor);
        Assert.False(device.TryGetParam(99, out _));
        Assert.Equal(2, Fake.Count("DRM_IOCTL_NOUVEAU_GETPARAM") - before);
    }

    [FakeDrmFact]
    public void A_buffer_comes_from_GEM_NEW_in_mappable_VRAM_is_zeroed_mapped_at_map_handle_and_closed_with_GEM_CLOSE()
    {
        using var device = Open();
        long closed = Fake.Count("DRM_IOCTL_GEM_CLOSE");

        var buffer = device.CreateBuffer(100, GemDomain.None, 0);
        Assert.Equal((8u | 2u).ToString(), Fake.Stats()["gem_new.domain"]); // MAPPABLE | VRAM
        Assert.Equal((4096UL, GemDomain.Vram), (buffer.Size, buffer.Domain));
        var data = new byte[4096];
        buffer.Read(0, data);
        Assert.All(data, b => Assert.Equal(0, b));
        buffer.Write(100, [7, 8, 9]);
        buffer.Read(100, data.AsSpan(0, 3));
        Assert.Equal([7, 8, 9], data[..3]);

        buffer.Release();
        Assert.Equal(1, Fake.Count("DRM_IOCTL_GEM_CLOSE") - closed);
        Assert.Equal(0, device.GetStats().LiveBuffers);
    }

    [FakeDrmFact]
    public async Task A_pushbuf_becomes_GEM_PUSHBUF_and_its_fence_signals_once_CPU_PREP_returns_for_every_buffer()
    {
        using var device = Open();
        var a = (DrmBuffer)device.CreateBuffer(4096, GemDomain.Vram, 0);
        var b = (DrmBuffer)device.CreateBuffer(4096, GemDomain.Gart, 0);
        using var channel = (NouveauChannel)device.CreateChannel();
        long preps = Fake.Count("DRM_IOCTL_NOUVEAU_GEM_CPU_PREP"), finis = Fake.Count("DRM_IOCTL_NOUVEAU_GEM_CPU_FINI");

        // a is listed twice (read, then write), b once; the second push entry is inline.
        var pushbuf = new Pushbuf([a, b, a], [BufferAccess.Read, BufferAccess.ReadWrite, BufferAccess.Write],
            [new PushEntry(1, 0, 64), new PushEntry(PushEntry.InlineIndex, 0, 8)], new byte[8]);
        var fence = channel.Submit(pushbuf);
        await fence.WaitAsync().WaitAsync(Timeout);

        Assert.True(fence.Error == 0, fence.Message);
        // handle:read:write:valid domains:user_priv per buffer; a once (VRAM), b (GART), then the GART staging buffer, read only.
        Assert.Matches($"^channel={channel.Channel} relocs=0 buffers={a.Handle}:2:2:6:0;{b.Handle}:4:4:6:1;\\d+:4:0:6:2 push=1:0:64;2:0:8$",
            Fake.Stats()["pushbuf"]);
        Assert.Equal(3, Fake.Count("DRM_IOCTL_NOUVEAU_GEM_CPU_PREP") - preps);
        Assert.Equal(3, Fake.Count("DRM_IOCTL_NOUVEAU_GEM_CPU_FINI") - finis);
        Assert.Equal("4", Fake.Stats()["cpu_prep.flags"]); // WRITE: wait for readers too, and never NOWAIT
        Assert.Equal(new DeviceStats(2, 8192, 1, 1, 1, 0, 1), device.GetStats()); // the staging buffer is gone

        a.Release();
        b.Release();
    }

    [FakeDrmFact]
    public void A_malformed_pushbuf_is_refused_before_GEM_PUSHBUF()
    {
        using var device = Open();
        var a = device.CreateBuffer(4096, GemDomain.Gart, 0);
        using var channel = device.CreateChannel();
        long pushbufs = Fake.Count("DRM_IOCTL_NOUVEAU_GEM_PUSHBUF");
        try
        {
            int Refused(IGpuBuffer[] buffers, params PushEntry[] push) =>
                Assert.Throws<ErrnoException>(() => channel.Submit(new Pushbuf(buffers, buffers.Select(_ => BufferAccess.Read).ToArray(), push, default))).Errno;

            Assert.Equal(Errno.EINVAL, Refused([new ForeignBuffer()], new PushEntry(0, 0, 4)));
            Assert.Equal(Errno.EINVAL, Refused([a], new PushEntry(0, 4092, 8)));
            Assert.Equal(Errno.EINVAL, Refused([a], new PushEntry(0, 2, 4)));
            Assert.Equal(Errno.EINVAL, Refused([a], new PushEntry(1, 0, 4)));
            Assert.Equal(Errno.E2BIG, Refused([a], Enumerable.Repeat(new PushEntry(0, 0, 4), 513).ToArray()));
            Assert.Equal(pushbufs, Fake.Count("DRM_IOCTL_NOUVEAU_GEM_PUSHBUF"));
            Assert.Equal(1, device.GetStats().LiveBuffers); // no staging buffer left behind
        }
        finally
        {
            a.Release();
        }
    }

    [FakeDrmFact]
    public void Closing_a_channel_frees_it_with_CHANNEL_FREE_and_later_submits_fail_with_ENODEV()
    {
        using var device = Open();
        long allocs = Fake.Count("DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC"), frees = Fake.Count("DRM_IOCTL_NOUVEAU_CHANNEL_FREE");
        var channel = device.CreateChannel();
        Assert.Equal(1, Fake.Count("DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC") - allocs);
        Assert.Equal(1, device.GetStats().LiveChannels);

        channel.Dispose();
        channel.Dispose();
        Assert.Equal(1, Fake.Count("DRM_IOCTL_NOUVEAU_CHANNEL_FREE") - frees);
        Assert.Equal(0, device.GetStats().LiveChannels);
        var e = Assert.Throws<ErrnoException>(() => channel.Submit(new Pushbuf([], [], [], default)));
        Assert.Equal(Errno.ENODEV, e.Errno);
    }

    /// <summary>A buffer of some other device.</summary>
    private sealed class ForeignBuffer : IGpuBuffer
    {
        public ulong Size => 4096;
        public GemDomain Domain => GemDomain.Gart;
        public FileDescriptor Fd => throw new NotSupportedException();
        public void Read(ulong offset, Span<byte> destination) { }
        public void Write(ulong offset, ReadOnlySpan<byte> source) { }
        public void AddRef() { }
        public void Release() { }
    }
}
