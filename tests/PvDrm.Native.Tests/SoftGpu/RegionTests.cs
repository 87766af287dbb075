using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>
/// A guest's shared region (a VM's ivshmem memory): the page allocator's bounds, exhaustion and
/// reuse, and SoftGpu buffers made in the region, whose bytes are the region file's.
/// </summary>
public sealed class RegionTests : IDisposable
{
    private const string Key = "pvdrm.host.guests.vm1.shared-memory";
    private readonly string _dir = Directory.CreateTempSubdirectory("pvdrm-region-").FullName;
    private readonly Gpu.Soft.SoftGpu _gpu = Soft.Device();

    public void Dispose()
    {
        _gpu.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private SoftRegion Region(ulong size)
    {
        var region = SoftRegion.Create(Path.Combine(_dir, "vm1.region"), size, Key);
        _gpu.AddRegion("vm1", region);
        return region;
    }

    [Fact]
    public void The_allocator_hands_out_only_ranges_inside_the_region_and_never_a_page_twice()
    {
        var pages = new RegionAllocator(10 * 4096);
        Assert.True(pages.TryTake(4 * 4096, out ulong a));
        Assert.True(pages.TryTake(6 * 4096, out ulong b));
        Assert.False(pages.TryTake(4096, out _));           // full
        Assert.False(pages.TryTake(ulong.MaxValue, out _)); // no wrap past the end
        Assert.Equal((0UL, 4 * 4096UL), (a, b));

        pages.Return(a, 4 * 4096);
        Assert.False(pages.TryTake(5 * 4096, out _));       // only 4 pages are free
        Assert.True(pages.TryTake(2 * 4096, out ulong c));
        Assert.True(pages.TryTake(2 * 4096, out ulong d));
        Assert.Equal((0UL, 2 * 4096UL), (c, d));
        Assert.Throws<ArgumentOutOfRangeException>(() => pages.Return(9 * 4096, 2 * 4096));
        Assert.Throws<InvalidOperationException>(() => { pages.Return(c, 2 * 4096); pages.Return(c, 2 * 4096); });
    }

    [Fact]
    public void Freed_neighbours_merge_so_a_large_buffer_fits_again()
    {
        var pages = new RegionAllocator(8 * 4096);
        var taken = Enumerable.Range(0, 8).Select(_ => { Assert.True(pages.TryTake(4096, out ulong at)); return at; }).ToList();
        foreach (ulong at in new[] { taken[1], taken[3], taken[2], taken[0], taken[5], taken[7], taken[6], taken[4] }) pages.Return(at, 4096);

        Assert.Equal(0UL, pages.Used);
        Assert.True(pages.TryTake(8 * 4096, out ulong all));
        Assert.Equal(0UL, all);
    }

    [Fact]
    public async Task A_guests_buffers_lie_in_its_region_file_and_the_engines_read_what_is_written_there()
    {
        var region = Region(1 << 20);
        using var session = _gpu.OpenSession("vm1");
        var a = session.CreateBuffer(4096, GemDomain.Gart, 0);
        var b = session.CreateBuffer(5000, GemDomain.Gart, 0);
        Assert.Equal(0UL, a.RegionOffset);
        Assert.Equal(4096UL, b.RegionOffset);
        Assert.Equal(8192UL, b.Size);

        // Written through the region file, as the VM writes its BAR: no GEM_WRITE.
        using var file = new FileStream(region.Path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = 4096 + 8;
        file.Write(BitConverter.GetBytes(0xfeedf00du));
        file.Flush();
        Assert.Equal(0xfeedf00du, Soft.ReadU32(b, 8));
        Soft.WriteU32(a, 12, 0x12345678);
        var word = new byte[4];
        file.Position = 12;
        file.ReadExactly(word);
        Assert.Equal(0x12345678u, BitConverter.ToUInt32(word));

        // The engines map the buffer's range of the region: a FILL shows in the file.
        var w = new SoftCommandWriter();
        w.Fill(0, 4096, 4096, 0x3fc00000);
        await Soft.Done(_gpu.CreateChannel().Submit(Soft.Inline(w, (b, BufferAccess.Write))));
        file.Position = 2 * 4096 + 4092;
        file.ReadExactly(word);
        Assert.Equal(0x3fc00000u, BitConverter.ToUInt32(word));

        a.Release();
        b.Release();
        Assert.Equal(0UL, region.Used);
        Assert.Null(_gpu.OpenSession("vm2").CreateBuffer(4096, GemDomain.Gart, 0).RegionOffset); // other guests: memfds
    }

    [Fact]
    public void A_full_region_refuses_with_ENOMEM_naming_its_key_and_a_freed_range_comes_back_zeroed()
    {
        Region(3 * 4096);
        using var session = _gpu.OpenSession("vm1");
        var a = session.CreateBuffer(2 * 4096, GemDomain.Gart, 0);
        var b = session.CreateBuffer(4096, GemDomain.Gart, 0);
        var full = Assert.Throws<ErrnoException>(() => session.CreateBuffer(4096, GemDomain.Gart, 0));
        Assert.Equal(Errno.ENOMEM, full.Errno);
        Assert.Contains(Key, full.Message);
        Assert.Equal(3 * 4096L, _gpu.GetStats().LiveBytes); // the refused buffer was not charged to the device

        Soft.WriteU32(a, 4096 + 40, 0xdeadbeef);
        a.Release();
        var again = session.CreateBuffer(2 * 4096, GemDomain.Gart, 0);
        Assert.Equal(0UL, again.RegionOffset);
        Assert.Equal(0u, Soft.ReadU32(again, 4096 + 40));
        again.Release();
        b.Release();
    }

    [Fact]
    public void Creating_a_region_over_an_existing_file_leaves_none_of_its_bytes()
    {
        string path = Path.Combine(_dir, "stale.region");
        File.WriteAllBytes(path, Enumerable.Repeat((byte)0xab, 8192).ToArray());
        using var region = SoftRegion.Create(path, 8192, Key);
        Assert.All(File.ReadAllBytes(path), b => Assert.Equal(0, b));
        Assert.Equal(8192, new FileInfo(path).Length);
    }
}
