using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests;

public class MemFdTests
{
    [Fact]
    public void A_new_memfd_is_zeroed_and_shared_between_two_mappings()
    {
        using var fd = MemFd.Create("test", 8192);
        Assert.Equal(8192UL, MemFd.SizeOf(fd));

        using var first = Mapping.Map(fd, 8192);
        using var second = Mapping.Map(fd, 8192);
        Assert.All(first.Slice(0, 8192).ToArray(), b => Assert.Equal(0, b));

        first.Slice(4096, 4).Fill(0xAB);
        Assert.Equal(new byte[] { 0xAB, 0xAB, 0xAB, 0xAB }, second.Slice(4096, 4).ToArray());
    }

    [Fact]
    public void Nobody_holding_the_descriptor_can_resize_a_buffer_memfd()
    {
        using var fd = MemFd.Create("sealed", 8192);
        using var copy = fd.Duplicate(); // what a guest gets through GEM_MAP

        Assert.NotEqual(0, Tmds.Linux.LibC.ftruncate(copy.Number, 0));
        Assert.NotEqual(0, Tmds.Linux.LibC.ftruncate(copy.Number, 1 << 20));
        Assert.Equal(8192UL, MemFd.SizeOf(fd));
    }

    [Fact]
    public void A_slice_outside_the_mapping_is_refused()
    {
        using var fd = MemFd.Create("test", 4096);
        using var map = Mapping.Map(fd, 4096);
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Slice(4090, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Slice(ulong.MaxValue, 1));
    }
}
