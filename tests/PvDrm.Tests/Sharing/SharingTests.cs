using System.Text;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Sharing;

/// <summary>Global names (GEM_EXPORT/GEM_IMPORT) and PRIME descriptors, within a guest and across.</summary>
public class SharingTests : TestKit
{
    [Fact]
    public async Task A_name_opens_the_same_object_in_another_context_of_the_guest()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var producer = await client.OpenContextAsync();
        var consumer = await client.OpenContextAsync();
        var gem = await producer.GemNewAsync(4096);
        await gem.WriteAsync(0, "shared"u8.ToArray());

        uint name = await gem.ExportAsync();
        Assert.Equal(name, await gem.ExportAsync()); // one object, one name
        var imported = await consumer.ImportAsync(name);

        var back = new byte[6];
        await imported.ReadAsync(0, back);
        Assert.Equal("shared", Encoding.ASCII.GetString(back));
        await imported.WriteAsync(0, "SHARED"u8.ToArray());
        await gem.ReadAsync(0, back);
        Assert.Equal("SHARED", Encoding.ASCII.GetString(back));
        Assert.Equal(1, host.Device.GetStats().LiveBuffers);
    }

    [Fact]
    public async Task An_object_lives_until_its_last_handle_closes_even_when_the_exporter_closes_first()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var a = await client.OpenContextAsync();
        var b = await client.OpenContextAsync();
        var gem = await a.GemNewAsync(8192);
        await gem.WriteAsync(0, new byte[] { 7 });
        uint name = await gem.ExportAsync();
        var imported = await b.ImportAsync(name);

        await gem.CloseAsync();
        await a.DisposeAsync();

        var back = new byte[1];
        await imported.ReadAsync(0, back);
        Assert.Equal(7, back[0]);
        Assert.Equal(8192, host.GuestStatus(client.Name).Bytes); // still charged while it lives

        await imported.CloseAsync();
        host.AwaitDevice(buffers: 0, extra: 0);
        var gone = await Assert.ThrowsAsync<DrmException>(() => b.ImportAsync(name));
        Assert.Equal(Errno.ENOENT, gone.Errno);
        Assert.Equal(0, host.GuestStatus(client.Name).Bytes);
    }

    [Fact]
    public async Task Names_and_descriptors_of_another_guest_are_refused_by_default()
    {
        var host = new HostHarness(this);
        await using var a = await host.ConnectAsync("a");
        await using var b = await host.ConnectAsync("b");
        var gem = await (await a.OpenContextAsync()).GemNewAsync(4096);
        uint name = await gem.ExportAsync();
        using var fd = await gem.PrimeExportAsync();
        var ctxB = await b.OpenContextAsync();

        var byName = await Assert.ThrowsAsync<DrmException>(() => ctxB.ImportAsync(name));
        Assert.Equal(Errno.ENOENT, byName.Errno);
        var byFd = await Assert.ThrowsAsync<DrmException>(() => ctxB.PrimeImportAsync(fd));
        Assert.Equal(Errno.EACCES, byFd.Errno);
        Assert.Contains("pvdrm.host.sharing.groups", byFd.Message);
    }

    [Fact]
    public async Task A_sharing_group_lets_two_named_guests_open_each_others_objects()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, SharingGroups = new[] { new[] { "a", "b" } } });
        await using var a = await host.ConnectAsync("a");
        await using var b = await host.ConnectAsync("b");
        await using var c = await host.ConnectAsync("c");
        var gem = await (await a.OpenContextAsync()).GemNewAsync(4096);
        await gem.WriteAsync(0, new byte[] { 42 });
        uint name = await gem.ExportAsync();

        var opened = await (await b.OpenContextAsync()).ImportAsync(name);
        var back = new byte[1];
        await opened.ReadAsync(0, back);
        Assert.Equal(42, back[0]);
        await Assert.ThrowsAsync<DrmException>(() => c.OpenContextAsync().ContinueWith(t => t.Result.ImportAsync(name)).Unwrap());
    }

    [Fact]
    public async Task Prime_hands_a_buffer_to_another_application_through_its_descriptor()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var producer = await client.OpenContextAsync();
        var consumer = await client.OpenContextAsync();
        var gem = await producer.GemNewAsync(4096);
        var channel = await producer.ChannelAllocAsync();
        await producer.SubmitAsync(channel, Commands.Fill(gem, 0xBEEF));
        await gem.CpuPrepAsync();

        using var fd = await gem.PrimeExportAsync();
        var imported = await consumer.PrimeImportAsync(fd);

        var back = new byte[4];
        await imported.ReadAsync(0, back);
        Assert.Equal(0xBEEFu, BitConverter.ToUInt32(back));
        Assert.Equal(1, host.Device.GetStats().LiveBuffers);
    }

    [Fact]
    public async Task A_sealable_memfd_the_client_library_did_not_make_is_adopted_as_a_buffer_without_copying()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        // A memfd (allowing seals) as another application would hand it over: the host sees only the descriptor.
        using var fd = GuestMemFd.Create("foreign", 16384);
        using var map = Native.Memory.Mapping.Map(fd, 16384);
        map.Slice(0, 4).Fill(1);

        var gem = await ctx.PrimeImportAsync(fd);
        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.Fill(gem, 0x0D0D0D0D));
        await gem.CpuPrepAsync();

        Assert.Equal(0x0D, map.Slice(16383, 1)[0]); // the GPU wrote the foreign pages themselves
        Assert.NotEqual(0, ftruncate(fd.Number, 0)); // and they can no longer shrink under it
        Assert.Equal(16384, host.GuestStatus(client.Name).Bytes);
    }

    [Fact]
    public async Task What_is_not_a_sealable_memfd_is_refused()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        string path = Path.GetTempFileName();
        try
        {
            using var file = new FileDescriptor((int)File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite).DangerousGetHandle(), ownsHandle: false);
            var error = await Assert.ThrowsAsync<DrmException>(() => ctx.PrimeImportAsync(file));
            Assert.Equal(Errno.EINVAL, error.Errno);
            Assert.Contains("memfd", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_descriptor_sent_with_an_op_that_takes_none_is_refused_and_closed()
    {
        var host = new HostHarness(this);
        await using var client = await host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);
        using var fd = GuestMemFd.Create("foreign", 4096);

        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemInfo(gem.Handle) { Fd = fd }));
        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.Contains("does not take a descriptor", error.Message);
        var missing = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.PrimeImport(9)));
        Assert.Contains("needs a descriptor", missing.Message);
    }
}
