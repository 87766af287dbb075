using PvDrm.Native.Io;

namespace PvDrm.Native.Tests.Io;

/// <summary>The loop runs posted work and delivers frames whether it polls (spins) or sleeps between events.</summary>
public class EventLoopTests
{
    public static TheoryData<int> Spins => new() { 0, 50, 1_000_000 };

    [Theory]
    [MemberData(nameof(Spins))]
    public async Task Work_posted_from_many_threads_all_runs_on_the_loop_thread(int spinMicroseconds)
    {
        using var loop = new EventLoop("test-loop", TimeSpan.FromMicroseconds(spinMicroseconds));
        const int threads = 4, each = 2000;
        int ran = 0, offLoop = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Bursts with awaits between them, so the loop alternates between busy, polling and (unless it spins for long) asleep.
        await Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < each; i++)
            {
                loop.Post(() =>
                {
                    if (!loop.IsLoopThread) Interlocked.Increment(ref offLoop);
                    if (Interlocked.Increment(ref ran) == threads * each) all.TrySetResult();
                });
                if (i % 100 == 0) await Task.Yield();
            }
        })));

        await all.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, offLoop);
    }

    [Theory]
    [MemberData(nameof(Spins))]
    public async Task Work_posted_from_the_loop_itself_runs_though_it_rings_no_doorbell(int spinMicroseconds)
    {
        // Actors on the loop tell each other by posting from the loop: no eventfd write, so the
        // loop must look at its queue before it sleeps, or the chain stops until the next event.
        using var loop = new EventLoop("test-loop", TimeSpan.FromMicroseconds(spinMicroseconds));
        const int hops = 1000;
        int ran = 0, offLoop = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Hop()
        {
            if (!loop.IsLoopThread) Interlocked.Increment(ref offLoop);
            if (++ran == hops) done.TrySetResult();
            else loop.Post(Hop);
        }

        for (int chain = 0; chain < 3; chain++)
        {
            (ran, done) = (0, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            loop.Post(Hop);
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, offLoop);
    }

    [Theory]
    [MemberData(nameof(Spins))]
    public void Ping_pong_frames_arrive_in_order(int spinMicroseconds)
    {
        using var loop = new EventLoop("test-loop", TimeSpan.FromMicroseconds(spinMicroseconds));
        var (a, b) = UnixSocket.Pair();
        var (ca, cb) = (new SeqPacketConnection(a, new ConnectionOptions(), loop), new SeqPacketConnection(b, new ConnectionOptions(), loop));
        var (fa, fb) = (new FrameCollector(), new FrameCollector());
        ca.Start(fa);
        cb.Start(fb);

        for (int i = 0; i < 500; i++)
        {
            Assert.True(ca.Send(BitConverter.GetBytes(i)));
            Assert.Equal(i, BitConverter.ToInt32(fb.Next().Frame));
            Assert.True(cb.Send(BitConverter.GetBytes(-i)));
            Assert.Equal(-i, BitConverter.ToInt32(fa.Next().Frame));
        }
        ca.Close("done");
        cb.Close("done");
    }
}
