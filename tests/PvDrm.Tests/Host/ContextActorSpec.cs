using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Actors.Host.Context;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Host;

public class ContextActorSpec : TestKit
{
    private readonly HostHarness _host;

    public ContextActorSpec() => _host = new HostHarness(this);

    [Fact]
    public async Task A_cpu_prep_sent_after_a_pushbuf_waits_for_its_fence()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        var semaphoreMap = await semaphore.MapAsync();
        var targetMap = await target.MapAsync();

        // The pushbuf cannot finish before we release the semaphore, which happens only after
        // both CPU_PREPs were sent.
        var submitted = ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 0x11223344));
        var waiting = target.CpuPrepAsync();
        var busy = await Assert.ThrowsAsync<DrmException>(() => target.CpuPrepAsync(noWait: true)).WaitAsync(HostHarness.Timeout);
        Assert.Equal(Errno.EBUSY, busy.Errno);
        Assert.Contains("in use", busy.Message);
        Assert.False(waiting.IsCompleted);

        BitConverter.GetBytes(1u).CopyTo(semaphoreMap.Bytes(0, 4));
        await waiting.WaitAsync(HostHarness.Timeout);

        // CPU_PREP returned only after the work ran: its result is there.
        Assert.Equal(0x11223344u, BitConverter.ToUInt32(targetMap.Bytes(target.Size - 4, 4)));
        Assert.Equal(1ul, await submitted);
    }

    [Fact]
    public async Task Unrelated_buffers_never_wait_for_a_busy_one()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var busy = await ctx.GemNewAsync(4096);
        var idle = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();

        await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, busy, 7));
        await idle.CpuPrepAsync(noWait: true).WaitAsync(HostHarness.Timeout); // no EBUSY

        await semaphore.WriteAsync(0, BitConverter.GetBytes(1u));
        await busy.CpuPrepAsync().WaitAsync(HostHarness.Timeout);
    }

    [Fact]
    public async Task Fence_numbers_count_every_pushbuf_of_the_context_even_failed_ones()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();

        Assert.Equal(1ul, await ctx.SubmitAsync(channel, Commands.Fill(gem, 1)));
        var bad = new PushbufBuilder();
        bad.Commands.Fill(bad.Use(gem, Native.Gpu.BufferAccess.Write), 0, gem.Size + 4, 0);
        var refused = await Assert.ThrowsAsync<DrmException>(() => ctx.SubmitAsync(channel, bad));
        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Contains("command 0 (FILL)", refused.Message);
        Assert.Equal(3ul, await ctx.SubmitAsync(channel, Commands.Fill(gem, 2)));

        var failed = await Assert.ThrowsAsync<DrmException>(() => ctx.FenceWaitAsync(2));
        Assert.Equal(Errno.EINVAL, failed.Errno);
        await ctx.FenceWaitAsync(3).WaitAsync(HostHarness.Timeout);
        var never = await Assert.ThrowsAsync<DrmException>(() => ctx.FenceWaitAsync(99));
        Assert.Contains("never issued", never.Message);
    }

    [Fact]
    public async Task Handles_are_chosen_by_the_guest_and_checked_by_the_host()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();

        await ctx.Send(new PvDrm.Protocol.Requests.GemNew(5, Native.Gpu.GemDomain.Vram, 100, 0));
        var reused = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemNew(5, Native.Gpu.GemDomain.Vram, 100, 0)));
        Assert.Equal(Errno.EEXIST, reused.Errno);
        var zero = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemNew(0, Native.Gpu.GemDomain.Vram, 100, 0)));
        Assert.Equal(Errno.EINVAL, zero.Errno);
        var unknown = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemInfo(6)));
        Assert.Equal(Errno.ENOENT, unknown.Errno);
        Assert.Contains("handle 6", unknown.Message);

        // A closed handle may be reused at once.
        await ctx.Send(new PvDrm.Protocol.Requests.GemClose(5));
        await ctx.Send(new PvDrm.Protocol.Requests.GemNew(5, Native.Gpu.GemDomain.Vram, 100, 0));
    }

    [Fact]
    public async Task A_failed_reply_less_request_surfaces_on_the_next_request_of_its_context()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        client.Post(new PvDrm.Protocol.Requests.GemClose(42) { Context = ctx.Id });
        // GEM_CLOSE of handle 42 fails on the host; a later request on this context reports it.
        var error = await Assert.ThrowsAsync<DrmException>(async () =>
        {
            for (int i = 0; i < 100; i++) await ctx.GemNewAsync(4096);
        });
        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.Contains("earlier reply-less", error.Message);
    }

    [Fact]
    public void Closing_a_context_cancels_what_follows_and_answers_once_its_gems_and_channels_are_released()
    {
        var session = ActorSpecKit.Session(this);
        IGpuDevice device = HostHarness.NewSoftGpu();
        using var release = new ManualResetEventSlim();
        var file = ActorSpecKit.HoldingChannels(device.OpenSession(session.Name), release);
        var context = Sys.ActorOf(ContextActor.Props(session, 1, device, file));
        var gem = new GemNew(1, GemDomain.Gart, 4096, 0).To(TestActor);
        var channel = new ChannelAlloc(1, 0).To(TestActor);
        context.Tell(gem);
        context.Tell(channel);
        Assert.Equal(0, this.AnswerTo(gem).Status);
        Assert.Equal(0, this.AnswerTo(channel).Status);

        var close = new CloseContext().To(TestActor);
        var late = new GemInfo(1).To(TestActor);
        context.Tell(close);
        context.Tell(late);

        // Draining: the channel cannot finish stopping until released, so the context is still
        // there to refuse the late request, and the close is not answered yet.
        var refused = this.AnswerTo(late);
        Assert.Equal(-Errno.ECANCELED, refused.Status);
        Assert.Contains("context 1 is closing", refused.Message);

        release.Set();
        Assert.Equal(0, this.AnswerTo(close).Status);
        Assert.Equal(0, session.Quota.Handles.Used);
        Assert.Equal(0, session.Channels);
        Assert.Equal(0, session.Memory);
    }
}
