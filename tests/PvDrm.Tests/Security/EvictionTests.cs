using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>`pvdrm-host evict` and `status` over the real control socket.</summary>
public class EvictionTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Evicting_a_guest_tells_it_why_and_releases_everything_it_held()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, ControlUnix = _dir["control.sock"] });
        await using var victim = await host.ConnectAsync("victim");
        await using var bystander = await host.ConnectAsync("bystander");
        var ctx = await victim.OpenContextAsync();
        for (int i = 0; i < 4; i++) await ctx.GemNewAsync(4096);
        await ctx.ChannelAllocAsync();
        AwaitCondition(() => File.Exists(_dir["control.sock"]), HostHarness.Timeout, HostHarness.Poll);

        var status = await ControlClient.SendAsync(_dir["control.sock"], new ControlProtocol.Request("status"), HostHarness.Timeout);
        var before = status.Status!.Guests.Single(g => g.Name == "victim");
        Assert.Equal((1, 4, 16384L, 1), (before.Contexts, before.Objects, before.Bytes, before.Channels));

        var evicted = await ControlClient.SendAsync(_dir["control.sock"], new ControlProtocol.Request("evict", "victim"), HostHarness.Timeout);
        Assert.True(evicted.Ok, evicted.Message);

        host.AwaitDevice(buffers: 0, extra: 0);
        AwaitCondition(() => !victim.IsConnected, HostHarness.Timeout, HostHarness.Poll);
        Assert.Contains("evicted by the operator", victim.EndReason);
        var error = await Assert.ThrowsAsync<DrmException>(() => ctx.GemNewAsync(4096));
        Assert.Equal(Errno.ECONNRESET, error.Errno);
        await Verified.FillAndCheck(await bystander.OpenContextAsync(), 77);
        Assert.Equal(new[] { "bystander" }, host.Status().Guests.Select(g => g.Name));
    }

    [Fact]
    public async Task Evicting_an_unknown_guest_says_so()
    {
        new HostHarness(this, new HostSettings { ListenUnix = null, ControlUnix = _dir["control.sock"] });
        AwaitCondition(() => File.Exists(_dir["control.sock"]), HostHarness.Timeout, HostHarness.Poll);

        var answer = await ControlClient.SendAsync(_dir["control.sock"], new ControlProtocol.Request("evict", "nobody"), HostHarness.Timeout);
        Assert.False(answer.Ok);
        Assert.Contains("no guest named 'nobody'", answer.Message);
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(_dir["control.sock"]) & 0x1FF, 8));
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
