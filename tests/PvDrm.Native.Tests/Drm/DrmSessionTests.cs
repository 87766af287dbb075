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

    // An ioctl on the DRM file of a session.
    private static unsafe int IoctlIn(DrmGpuDevice device, IGpuSession session, uint request, void* arg) => ((DrmSession)session).Ioctl(request, arg);

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

    [FakeDrmFact]
    public void Each_session_is_a_file_of_its_own_with_its_own_handle_numbers_closed_once_its_last_object_is_released()
    {
        using var device = Open();
        int files = int.Parse(Fake.Stats()["files"]);
        var a = ((IGpuDevice)device).OpenSession("guest-a");
        var b = ((IGpuDevice)device).OpenSession("guest-b");
        Assert.Equal(files + 2, int.Parse(Fake.Stats()["files"]));
        Assert.Equal(3, device.OpenFiles);

        // Like the kernel's idr, each file numbers its handles from 1: the same number, two objects.
        var first = (DrmBuffer)a.CreateBuffer(4096, GemDomain.Gart, 0);
        var other = (DrmBuffer)b.CreateBuffer(4096, GemDomain.Gart, 0);
        Assert.Equal(first.Handle, other.Handle);
        first.Write(0, [1]);
        other.Write(0, [2]);
        var back = new byte[1];
        first.Read(0, back);
        Assert.Equal(1, back[0]);
        using var channel = b.CreateChannel("guest-b");

        // A closed session refuses new objects; its file stays open while its buffer lives.
        a.Dispose();
        Assert.Equal(Errno.ENODEV, Assert.Throws<ErrnoException>(() => a.CreateBuffer(4096, GemDomain.Gart, 0)).Errno);
        Assert.Equal(3, device.OpenFiles);
        first.Release();
        Assert.Equal(2, device.OpenFiles);

        // b's file closes after its channel and its buffer; the fake then drops the file's table.
        b.Dispose();
        channel.Dispose();
        Assert.Equal(2, device.OpenFiles);
        other.Release();
        Assert.Equal(1, device.OpenFiles);
        AwaitFake("files", files.ToString());
    }

    [FakeDrmFact]
    public void Files_are_budgeted_per_guest_and_host_wide_and_a_refusal_names_the_setting()
    {
        var budget = new DrmFileBudget(perOwner: 2, total: 3, "limits.drm-files-per-guest", "limits.drm-files");
        using var device = DrmGpuDevice.Open("nv0", Fake.DevicePath, budget);
        IGpuDevice gpu = device;
        int files = int.Parse(Fake.Stats()["files"]);
        var a1 = gpu.OpenSession("guest-a");
        var a2 = gpu.OpenSession("guest-a");
        var perGuest = Assert.Throws<ErrnoException>(() => gpu.OpenSession("guest-a"));
        Assert.Equal(Errno.EMFILE, perGuest.Errno);
        Assert.Contains("limits.drm-files-per-guest = 2", perGuest.Message);

        var b1 = gpu.OpenSession("guest-b");
        var total = Assert.Throws<ErrnoException>(() => gpu.OpenSession("guest-c"));
        Assert.Equal(Errno.EMFILE, total.Errno);
        Assert.Contains("limits.drm-files = 3", total.Message);
        Assert.Equal(files + 3, int.Parse(Fake.Stats()["files"])); // the refused ones never opened the node

        // A closed file is given back.
        a1.Dispose();
        Assert.Equal((2, 1), (budget.Open, budget.OpenBy("guest-a")));
        using var c1 = gpu.OpenSession("guest-c");
        a2.Dispose();
        b1.Dispose();
        Assert.Equal(0, budget.OpenBy("guest-a"));
    }

    // The fake frees a file when the kernel sends FUSE's release, which comes after close(2) returns.
    private void AwaitFake(string key, string expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        string? seen;
        while ((seen = Fake.Stats().GetValueOrDefault(key)) != expected && DateTime.UtcNow < deadline) Thread.Yield();
        Assert.Equal(expected, seen);
    }
}
