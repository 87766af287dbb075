using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Vm;

/// <summary>
/// A guest's shared region through the real protocol (no VM needed): guest vm1 has one, vm2 does
/// not. GEM_MAP of vm1's buffers answers their offsets in the region and no descriptor; the
/// region is never handed out as a descriptor; vm2's buffers are memfds of their own.
/// </summary>
public sealed class SharedRegionTests : TestKit, IDisposable
{
    private const string Key = "pvdrm.host.guests.vm1.shared-memory";
    private readonly TempDir _dir = new();
    private readonly SoftRegion _region;
    private readonly HostHarness _host;

    public SharedRegionTests()
    {
        var gpu = HostHarness.NewSoftGpu();
        _region = SoftRegion.Create(_dir["vm1.region"], 1 << 20, Key);
        gpu.AddRegion("vm1", _region);
        _host = new HostHarness(this, device: gpu);
    }

    [Fact]
    public async Task GEM_MAP_of_a_region_guests_buffer_answers_its_offset_there_and_passes_no_descriptor()
    {
        await using var client = await _host.ConnectAsync("vm1");
        var context = await client.OpenContextAsync();
        var first = await context.GemNewAsync(8192);
        var second = await context.GemNewAsync(4096);

        var reply = await context.Send(new Requests.GemMap(second.Handle));
        using var fd = reply.TakeFd();
        Assert.Null(fd);
        var map = reply.Read<Replies.GemMap>();
        Assert.Equal((4096UL, 8192UL), (map.Size, map.RegionOffset));

        // The bytes are the region file's: what a VM writes through its BAR, the host reads.
        using (var file = new FileStream(_region.Path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 8192 + 16;
            file.Write("granted"u8);
        }
        var read = new byte[7];
        await second.ReadAsync(16, read);
        Assert.Equal("granted"u8.ToArray(), read);
        await first.CloseAsync();
    }

    [Fact]
    public async Task A_region_buffer_is_never_exported_as_a_descriptor_which_would_be_the_whole_region()
    {
        await using var client = await _host.ConnectAsync("vm1");
        var gem = await (await client.OpenContextAsync()).GemNewAsync(4096);

        var refused = await Assert.ThrowsAsync<DrmException>(gem.PrimeExportAsync);

        Assert.Equal(Errno.EOPNOTSUPP, refused.Errno);
        Assert.Contains(Key, refused.Message);
    }

    [Fact]
    public async Task A_full_region_refuses_GEM_NEW_with_ENOMEM_naming_the_key_and_other_guests_are_not_in_it()
    {
        await using var vm1 = await _host.ConnectAsync("vm1");
        await using var vm2 = await _host.ConnectAsync("vm2");
        var context = await vm1.OpenContextAsync();
        await context.GemNewAsync(1 << 20);

        var full = await Assert.ThrowsAsync<DrmException>(() => context.GemNewAsync(4096));
        Assert.Equal(Errno.ENOMEM, full.Errno);
        Assert.Contains(Key, full.Message);

        var other = await (await vm2.OpenContextAsync()).GemNewAsync(4096);
        var reply = await other.Context.Send(new Requests.GemMap(other.Handle));
        using var fd = reply.TakeFd();
        Assert.NotNull(fd);
        Assert.Equal(Replies.GemMap.NoRegion, reply.Read<Replies.GemMap>().RegionOffset);
    }

    public new void Dispose()
    {
        base.Dispose();
        _host.Device.Dispose();
        _dir.Dispose();
    }
}
