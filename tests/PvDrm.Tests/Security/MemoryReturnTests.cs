using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Security;

/// <summary>
/// Memory a guest frees really returns to the host, even while the guest still holds the
/// descriptor it was handed: the host punches the pages out (st_blocks of the guest's copy).
/// </summary>
public class MemoryReturnTests : TestKit
{
    private const int Size = 1 << 20;
    private readonly HostHarness _host;

    public MemoryReturnTests() => _host = new HostHarness(this);

    private static void Fill(FileDescriptor fd)
    {
        using var map = Native.Memory.Mapping.Map(fd, Size);
        map.Slice(0, Size).Fill(0x5A);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Closing_a_buffer_frees_its_pages_while_the_guest_still_holds_its_descriptor(bool primeExport)
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        for (int round = 0; round < 3; round++)
        {
            var gem = await ctx.GemNewAsync(Size);
            var reply = await ctx.Send(primeExport ? new PrimeExport(gem.Handle) : new GemMap(gem.Handle));
            using var fd = reply.TakeFd()!;
            Fill(fd);
            Assert.True(Leaks.ResidentBytes(fd) >= Size, "the guest's writes did not make the pages resident");

            await ctx.Send(new GemClose(gem.Handle));

            // The guest kept its descriptor and its quota is back to zero: so must the memory be.
            Assert.Equal(0, Leaks.ResidentBytes(fd));
            Assert.Equal(0, _host.GuestStatus(client.Name).Bytes);
        }
    }

    [Fact]
    public async Task Closing_an_imported_memfd_frees_its_pages()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        using var fd = GuestMemFd.Create("imported", Size);
        Fill(fd);
        var gem = await ctx.PrimeImportAsync(fd);
        Assert.Equal((long)Size, _host.GuestStatus(client.Name).Bytes);

        await ctx.Send(new GemClose(gem.Handle));

        Assert.Equal(0, Leaks.ResidentBytes(fd));
        Assert.Equal(0, _host.GuestStatus(client.Name).Bytes);
    }

    [Fact]
    public async Task A_scrub_import_zeroes_the_buffer_by_freeing_its_pages()
    {
        await using var client = await _host.ConnectAsync();
        var first = await client.OpenContextAsync();
        var gem = await first.GemNewAsync(Size);
        using var fd = (await first.Send(new GemMap(gem.Handle))).TakeFd()!;
        Fill(fd);
        uint name = await gem.ExportAsync();

        var second = await client.OpenContextAsync();
        var reply = await second.Send(new GemImport(name, 7, GemImportFlags.Scrub));
        Assert.Equal(0, reply.Status);

        Assert.Equal(0, Leaks.ResidentBytes(fd));
        var back = new byte[4096];
        await gem.ReadAsync(Size - 4096, back);
        Assert.True(back.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the scrubbed buffer kept old data");
    }
}
