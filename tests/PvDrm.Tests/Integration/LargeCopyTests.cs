using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Integration;

/// <summary>
/// GEM_WRITE/GEM_READ copies far larger than a connection's send queue, through a real host.
/// They keep both cores busy for a second, so they run alone: tests that check how work is
/// shared (fairness) would otherwise see their scheduling disturbed.
/// </summary>
[Collection(nameof(LargeCopyTests))]
public class LargeCopyTests : TestKit
{
    private readonly HostHarness _host;

    public LargeCopyTests() => _host = new HostHarness(this);

    /// <summary>Bytes no chunk boundary lines up with: a misplaced or repeated chunk shows.</summary>
    private static byte[] Pattern(int length, uint seed)
    {
        var bytes = new byte[length];
        uint x = seed;
        for (int i = 0; i < length; i++)
        {
            x = x * 1664525 + 1013904223;
            bytes[i] = (byte)(x >> 24);
        }
        return bytes;
    }

    [Fact]
    public async Task A_copy_four_times_the_send_queue_writes_and_reads_back_every_byte()
    {
        int size = (int)(4 * new ConnectionOptions().MaxPendingSendBytes);
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync((ulong)size);
        var data = Pattern(size, 1);

        await gem.WriteAsync(0, data).WaitAsync(HostHarness.Timeout);
        var back = new byte[size];
        await gem.ReadAsync(0, back).WaitAsync(HostHarness.Timeout);

        Assert.True(data.AsSpan().SequenceEqual(back), "the bytes read back differ from those written");
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task An_unaligned_copy_in_the_middle_leaves_the_bytes_around_it_alone()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(8 << 20);
        var whole = Pattern(8 << 20, 2);
        await gem.WriteAsync(0, whole).WaitAsync(HostHarness.Timeout);
        int offset = 4096 + 7, length = 3 * client.MaxFrame + 123; // several chunks and a short last one
        var middle = Pattern(length, 3);

        await gem.WriteAsync((ulong)offset, middle).WaitAsync(HostHarness.Timeout);

        middle.CopyTo(whole, offset);
        var back = new byte[whole.Length];
        await gem.ReadAsync(0, back).WaitAsync(HostHarness.Timeout);
        Assert.True(whole.AsSpan().SequenceEqual(back), "the bytes read back differ from those written");
    }

    [Fact]
    public async Task A_copy_that_fails_part_way_throws_and_leaves_the_connection_usable()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(1 << 20);

        // The first chunks fit, the ones past the end are refused.
        var error = await Assert.ThrowsAsync<DrmException>(() => gem.WriteAsync(0, new byte[32 << 20]).WaitAsync(HostHarness.Timeout));

        Assert.Equal(Errno.EINVAL, error.Errno);
        Assert.True(client.IsConnected);
        Assert.Equal(2UL, await client.GetParamAsync(DeviceParam.GraphUnits));
        await Assert.ThrowsAsync<DrmException>(() => gem.ReadAsync(0, new byte[2 << 20]).WaitAsync(HostHarness.Timeout));
        var first = new byte[4096];
        await gem.ReadAsync(0, first);
        Assert.All(first, b => Assert.Equal(0, b));
    }
}

[CollectionDefinition(nameof(LargeCopyTests), DisableParallelization = true)]
public class LargeCopyCollection
{
}
