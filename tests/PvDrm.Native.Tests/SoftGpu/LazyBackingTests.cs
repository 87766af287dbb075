using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>SoftGpu buffers get their memfd and mapping on first use, and are zeros and counted before that.</summary>
public class LazyBackingTests
{
    private static SoftBuffer New(Gpu.Soft.SoftGpu gpu, ulong size = 4096) => (SoftBuffer)gpu.CreateBuffer(size, GemDomain.Vram, 0);

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    [Fact]
    public void A_new_buffer_has_no_memfd_or_mapping_but_is_counted_in_device_memory()
    {
        using var gpu = Soft.Device(memory: 3 * 4096);
        var a = New(gpu, 5000);

        Assert.False(a.HasMemory);
        Assert.False(a.IsMapped);
        Assert.Equal(new DeviceStats(1, 2 * 4096, 0, 0, 0, 0, 0), gpu.GetStats());
        var refused = Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(2 * 4096, GemDomain.Vram, 0));
        Assert.Equal(Errno.ENOMEM, refused.Errno);
        a.Release();
        Assert.Equal(new DeviceStats(0, 0, 0, 0, 0, 0, 0), gpu.GetStats());
    }

    [Fact]
    public void Reading_an_untouched_buffer_gives_zeros_without_backing_it()
    {
        using var gpu = Soft.Device();
        var a = New(gpu, 8192);
        var bytes = Enumerable.Repeat((byte)0xAB, 100).ToArray();

        a.Read(8000, bytes);

        Assert.All(bytes, b => Assert.Equal(0, b));
        Assert.False(a.HasMemory);
        Assert.Equal(Errno.EINVAL, Assert.Throws<ErrnoException>(() => a.Read(8100, new byte[100])).Errno);
        a.Release();
    }

    [Fact]
    public void Memfds_are_charged_to_max_descriptors_before_they_are_made()
    {
        using var gpu = new Gpu.Soft.SoftGpu("budgeted", new SoftGpuOptions { Engines = 1, MaxDescriptors = 2 });
        var (a, b, c) = (New(gpu), New(gpu), New(gpu));
        Soft.WriteU32(a, 0, 1);
        _ = b.Fd;

        var refused = Assert.Throws<ErrnoException>(() => Soft.WriteU32(c, 0, 1));
        Assert.Equal(Errno.EMFILE, refused.Errno);
        Assert.Contains("soft-gpu.max-descriptors", refused.Message);
        Assert.False(c.HasMemory);
        Assert.Equal(0u, Soft.ReadU32(c, 0)); // reading needs no descriptor

        a.Release();
        Soft.WriteU32(c, 0, 3);
        Assert.Equal(3u, Soft.ReadU32(c, 0));
        b.Release();
        c.Release();
    }

    [Fact]
    public unsafe void The_last_release_frees_the_pages_of_a_descriptor_someone_still_holds()
    {
        using var gpu = Soft.Device();
        var a = New(gpu, 1 << 20);
        using var held = a.Fd.Duplicate();
        a.Write(0, Enumerable.Repeat((byte)0x77, 1 << 20).ToArray());
        Tmds.Linux.stat st;
        Assert.Equal(0, Tmds.Linux.LibC.fstat(held.Number, &st));
        Assert.True(st.st_blocks > 0);

        a.Release();

        Assert.Equal(0, Tmds.Linux.LibC.fstat(held.Number, &st));
        Assert.Equal(0, (long)st.st_blocks);
    }

    [Fact]
    public void Writing_backs_the_buffer_with_zeros_around_what_was_written()
    {
        using var gpu = Soft.Device();
        var a = New(gpu, 8192);

        Soft.WriteU32(a, 4096, 0xC0FFEE);

        Assert.True(a.HasMemory);
        Assert.False(a.IsMapped); // the host writes through the descriptor: only the engines map buffers
        Assert.Equal(0xC0FFEEu, Soft.ReadU32(a, 4096));
        Assert.Equal(0u, Soft.ReadU32(a, 0));
        Assert.Equal(0u, Soft.ReadU32(a, 8188));
        a.Release();
    }

    [Fact]
    public void Handing_out_the_descriptor_makes_a_zeroed_memfd_whose_pages_the_buffer_then_reads()
    {
        using var gpu = Soft.Device();
        var a = New(gpu, 4096);

        var fd = a.Fd;

        Assert.True(a.HasMemory);
        Assert.False(a.IsMapped); // the host maps it only when it touches the bytes itself
        Assert.Same(fd, a.Fd);
        Assert.Equal(4096UL, MemFd.SizeOf(fd));
        using (var guest = Mapping.Map(fd, 4096))
        {
            Assert.All(guest.Slice(0, 4096).ToArray(), b => Assert.Equal(0, b));
            guest.Slice(12, 4).Fill(0x11); // the guest writes through its own mapping
        }
        Assert.Equal(0x11111111u, Soft.ReadU32(a, 12));
        Assert.False(a.IsMapped); // read through the descriptor (pread)
        a.Release();
    }

    [Fact]
    public async Task A_pushbuf_backs_the_buffers_it_uses_before_it_runs()
    {
        using var gpu = Soft.Device(engines: 1);
        var target = New(gpu, 4096);
        var source = New(gpu, 4096);
        var w = new SoftCommandWriter();
        w.Fill(0, 0, 4096, 7);
        w.Copy(1, 0, 0, 2048, 2048); // copies the untouched source's zeros over the upper half

        var fence = gpu.CreateChannel().Submit(Soft.Inline(w, (target, BufferAccess.Write), (source, BufferAccess.Read)));
        Assert.True(target.HasMemory);
        Assert.True(source.HasMemory);
        await Soft.Done(fence);
        // Mapped when the commands touched them, and kept by the mapping cache while it has room.
        Assert.True(target.IsMapped);
        Assert.True(source.IsMapped);

        Assert.Equal(7u, Soft.ReadU32(target, 2044));
        Assert.Equal(0u, Soft.ReadU32(target, 2048));
        target.Release();
        source.Release();
    }

    [Fact]
    public void Many_idle_buffers_hold_no_descriptors_and_releasing_touched_ones_closes_theirs()
    {
        using var gpu = Soft.Device(memory: 1UL << 34);
        int before = OpenDescriptors();
        var idle = Enumerable.Range(0, 30_000).Select(_ => New(gpu)).ToList();
        var touched = Enumerable.Range(0, 10).Select(_ => New(gpu)).ToList();
        foreach (var t in touched) Soft.WriteU32(t, 0, 1);

        // Other tests run in parallel and open files too: allow for them, not for 30k memfds.
        Assert.InRange(OpenDescriptors() - before, 10 - 200, 10 + 200);
        foreach (var b in idle.Concat(touched)) b.Release();
        Assert.All(touched, t => Assert.True(t.Fd.IsClosed));
        Assert.Throws<ObjectDisposedException>(() => idle[0].Fd); // freed before it ever had one
        Assert.Equal(0, gpu.GetStats().LiveBuffers);
    }
}
