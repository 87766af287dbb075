using PvDrm.Native.Drm;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// One DRM file per guest context (issue 16, attack 11): two guests' sessions on fake_drm
/// --driver nouveau, which keeps a handle table and channels per open file as the kernel does.
/// A handle made in one guest's file must mean nothing in the other's.
/// </summary>
public class DrmSessionTests(FakeNouveauFixture fixture) : IClassFixture<FakeNouveauFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private FakeDrm Fake => fixture.Fake;

    private DrmGpuDevice Open() => DrmGpuDevice.Open("nv0", Fake.DevicePath);

    // The DRM file a session issues its ioctls on.
    private static unsafe int IoctlIn(DrmGpuDevice device, IGpuSession session, uint request, void* arg) => device.Ioctl(request, arg);

    [FakeDrmFact]
    public unsafe void A_handle_made_in_one_guests_file_is_unknown_to_the_kernel_in_another_guests_file()
    {
        using var device = Open();
        using var a = ((IGpuDevice)device).OpenSession("guest-a");
        using var b = ((IGpuDevice)device).OpenSession("guest-b");
        var secret = (DrmBuffer)a.CreateBuffer(4096, GemDomain.Gart, 0);
        secret.Write(0, "guest a's data"u8);
        try
        {
            // Guest B's file names the handle that exists only in guest A's file.
            var prep = new drm_nouveau_gem_cpu_prep { handle = secret.Handle, flags = NOUVEAU_GEM_CPU_PREP_WRITE };
            Assert.Equal(Errno.ENOENT, IoctlIn(device, b, DRM_IOCTL_NOUVEAU_GEM_CPU_PREP, &prep));
            var close = new drm_gem_close { handle = secret.Handle };
            Assert.Equal(Errno.EINVAL, IoctlIn(device, b, DRM_IOCTL_GEM_CLOSE, &close));
            // In guest A's own file the same handle is its buffer, which B could not close.
            Assert.Equal(0, IoctlIn(device, a, DRM_IOCTL_NOUVEAU_GEM_CPU_PREP, &prep));
            var back = new byte[14];
            secret.Read(0, back);
            Assert.Equal("guest a's data"u8.ToArray(), back);
        }
        finally
        {
            secret.Release();
        }
    }

    [FakeDrmFact]
    public async Task A_pushbuf_on_one_guests_channel_cannot_name_another_guests_buffer()
    {
        using var device = Open();
        using var a = ((IGpuDevice)device).OpenSession("guest-a");
        using var b = ((IGpuDevice)device).OpenSession("guest-b");
        var secret = a.CreateBuffer(4096, GemDomain.Gart, 0);
        var own = b.CreateBuffer(4096, GemDomain.Gart, 0);
        using var channel = b.CreateChannel("guest-b");
        long pushbufs = Fake.Count("DRM_IOCTL_NOUVEAU_GEM_PUSHBUF");
        try
        {
            var e = Assert.Throws<ErrnoException>(() =>
            {
                channel.Submit(new Pushbuf([secret], [BufferAccess.Read], [new PushEntry(0, 0, 64)], default));
            });
            Assert.Equal(Errno.EINVAL, e.Errno);
            Assert.Contains("another DRM file", e.Message);
            Assert.Equal(pushbufs, Fake.Count("DRM_IOCTL_NOUVEAU_GEM_PUSHBUF"));

            // Its own buffers go through, on its own file.
            var fence = channel.Submit(new Pushbuf([own], [BufferAccess.Read], [new PushEntry(0, 0, 64)], default));
            await fence.WaitAsync().WaitAsync(Timeout);
            Assert.True(fence.Error == 0, fence.Message);
        }
        finally
        {
            secret.Release();
            own.Release();
        }
    }
}
