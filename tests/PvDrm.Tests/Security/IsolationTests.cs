using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Security;

/// <summary>Two guests: everything B can name is its own.</summary>
public class IsolationTests : TestKit
{
    private readonly HostHarness _host;

    public IsolationTests() => _host = new HostHarness(this);

    [Fact]
    public async Task A_guest_cannot_name_another_guests_handles_channels_or_fences()
    {
        await using var a = await _host.ConnectAsync("a");
        await using var b = await _host.ConnectAsync("b");
        var ctxA = await a.OpenContextAsync();
        var gemA = await ctxA.GemNewAsync(4096);
        var channelA = await ctxA.ChannelAllocAsync();
        await ctxA.SubmitAsync(channelA, Commands.Fill(gemA, 1));
        // B opens a context with the very same id as A's.
        var ctxB = await b.OpenContextAsync();
        Assert.Equal(ctxA.Id, ctxB.Id);

        foreach (var request in new PvDrm.Protocol.Request[]
        {
            new GemInfo(gemA.Handle), new GemMap(gemA.Handle), new GemRead(gemA.Handle, 0, 4), new GemWrite(gemA.Handle, 0, new byte[4]),
            new CpuPrep(gemA.Handle, 0, 0), new GemClose(gemA.Handle), new ChannelFree(channelA.Id), new FenceWait(1, 0, 0),
            new PvDrm.Protocol.Requests.Pushbuf(channelA.Id, [], [], new byte[4]),
        })
        {
            var error = await Assert.ThrowsAsync<DrmException>(() => ctxB.Send(request));
            Assert.True(error.Errno == Errno.ENOENT, $"{request.Op}: {error.Message}");
        }
        // A's objects are untouched.
        await ctxA.FenceWaitAsync(1);
        Assert.Equal(4096ul, (await gemA.InfoAsync()).Size);
    }

    [Fact]
    public async Task A_guest_cannot_resize_a_buffer_it_was_handed_to_crash_the_host()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(64 * 1024);
        var reply = await ctx.Send(new GemMap(gem.Handle));
        using (var fd = reply.TakeFd()!)
        {
            // A shrunk buffer would make the host's own mapping fault (SIGBUS) on the next access.
            Assert.NotEqual(0, Tmds.Linux.LibC.ftruncate(fd.Number, 0));
        }

        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.Fill(gem, 0xF00D));
        await gem.CpuPrepAsync();
        var back = new byte[4];
        await gem.ReadAsync(64 * 1024 - 4, back);
        Assert.Equal(0xF00Du, BitConverter.ToUInt32(back));
    }

    [Fact]
    public async Task A_guest_never_sees_another_guests_data_in_its_new_buffers()
    {
        const uint secret = 0x5EC2E7;
        await using (var a = await _host.ConnectAsync("a"))
        {
            var ctx = await a.OpenContextAsync();
            for (int i = 0; i < 16; i++)
            {
                var gem = await ctx.GemNewAsync(64 * 1024);
                var map = await gem.MapAsync();
                map.Bytes(0, 64 * 1024).Fill(0x5E);
                var channel = await ctx.ChannelAllocAsync();
                await ctx.SubmitAsync(channel, Commands.Fill(gem, secret));
                await gem.CpuPrepAsync();
                await channel.FreeAsync();
                await gem.CloseAsync();
            }
        }
        _host.AwaitDeviceEmpty();

        await using var b = await _host.ConnectAsync("b");
        var ctxB = await b.OpenContextAsync();
        for (int i = 0; i < 16; i++)
        {
            var gem = await ctxB.GemNewAsync(64 * 1024);
            var map = await gem.MapAsync();
            Assert.True(map.Bytes(0, 64 * 1024).IndexOfAnyExcept((byte)0) < 0, "a new buffer held old data");
        }
    }
}
