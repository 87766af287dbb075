using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Channel;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Host;

/// <summary>
/// The channel actor alone, on a scripted device channel, with a probe as the guest: idle,
/// running while the device has its work, closing while freed work still stops.
/// </summary>
public class ChannelActorSpec : TestKit
{
    // Long enough that a closing channel never gives up waiting during a spec.
    private static readonly HostSettings Settings = new() { ListenUnix = null, RequestTimeout = TimeSpan.FromMinutes(10) };

    private (IActorRef Actor, ScriptedChannel Device, Actors.Host.Guest.GuestSession Session) Start()
    {
        var session = ActorSpecKit.Session(this, Settings);
        Assert.True(session.TryTakeChannel()); // as the context does before it creates the actor
        var device = new ScriptedChannel();
        return (Sys.ActorOf(ChannelActor.Props(session, device, 1)), device, session);
    }

    private ChannelProtocol.Execute Work(ulong fence) =>
        new(new Requests.Pushbuf(1, [], [], ReadOnlyMemory<byte>.Empty).To(TestActor),
            new Native.Gpu.Pushbuf([], [], [], ReadOnlyMemory<byte>.Empty), new GpuFence(fence));

    private ChannelProtocol.Free Free() => new(new ChannelFree(1).To(TestActor));

    [Fact]
    public void Freeing_an_idle_channel_answers_once_the_channel_and_its_quota_are_released()
    {
        var (channel, device, session) = Start();

        var free = Free();
        channel.Tell(free);

        Assert.Equal(0, this.AnswerTo(free.Request).Status);
        Assert.Equal(0, session.Channels);
        Assert.True(device.Disposed > 0);
    }

    [Fact]
    public void Freeing_a_running_channel_cancels_new_work_and_answers_once_the_running_work_stopped()
    {
        var (channel, device, session) = Start();
        var running = Work(1);
        channel.Tell(running);
        Assert.Equal(0, this.AnswerTo(running.Request).Status);

        var free = Free();
        var late = Work(2);
        channel.Tell(free);
        channel.Tell(late);

        // Closing: the late work is refused while the free waits for the running work.
        var refused = this.AnswerTo(late.Request);
        Assert.Equal(-Errno.ECANCELED, refused.Status);
        Assert.Equal(Errno.ECANCELED, late.Fence.Error);
        Assert.False(running.Fence.IsSignaled);
        Assert.Equal(1, session.Channels);

        device.Submitted(0).TrySignal(Errno.ECANCELED, "channel disposed");
        Assert.Equal(0, this.AnswerTo(free.Request).Status);
        Assert.Equal(Errno.ECANCELED, running.Fence.Error);
        Assert.Equal(0, session.Channels);
    }

    [Fact]
    public async Task A_channel_whose_work_finished_is_idle_again_and_is_freed_at_once()
    {
        var (channel, device, _) = Start();
        var work = Work(1);
        channel.Tell(work);
        Assert.Equal(0, this.AnswerTo(work.Request).Status);
        device.Submitted(0).TrySignal();
        await work.Fence.WaitAsync().WaitAsync(HostHarness.Timeout);

        var free = Free();
        channel.Tell(free);
        channel.Tell(Work(2)); // an idle channel stops at the free: this never runs

        Assert.Equal(0, this.AnswerTo(free.Request).Status);
        Assert.Equal(0, work.Fence.Error);
    }
}
