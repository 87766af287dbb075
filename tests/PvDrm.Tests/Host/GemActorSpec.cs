using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Actors.Host.Gem;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Host;

public class GemActorSpec : TestKit
{
    private readonly HostHarness _host;

    public GemActorSpec() => _host = new HostHarness(this);

    [Fact]
    public async Task Read_and_write_copy_through_the_host_in_chunks()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(1 << 20);
        var data = new byte[600_000];
        new Random(3).NextBytes(data);

        await gem.WriteAsync(100, data);
        var back = new byte[data.Length];
        await gem.ReadAsync(100, back);

        Assert.Equal(data, back);
        Assert.True(data.Length > client.MaxChunk, "the test must span several chunks");
    }

    [Fact]
    public async Task A_mapping_is_the_very_memory_the_gpu_writes()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(8192);
        var channel = await ctx.ChannelAllocAsync();
        var map = await gem.MapAsync();

        await ctx.SubmitAsync(channel, Commands.Fill(gem, 0xCAFEF00D));
        await gem.CpuPrepAsync();

        Assert.Equal(0xCAFEF00Du, BitConverter.ToUInt32(map.Bytes(8188, 4)));
        Assert.Equal(8192ul, map.Length);
    }

    [Fact]
    public async Task Ranges_outside_the_buffer_are_refused()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var gem = await ctx.GemNewAsync(4096);

        var write = await Assert.ThrowsAsync<DrmException>(() => gem.WriteAsync(4090, new byte[10]));
        Assert.Equal(Errno.EINVAL, write.Errno);
        var read = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemRead(gem.Handle, ulong.MaxValue - 2, 8)));
        Assert.Equal(Errno.EINVAL, read.Errno);
        var tooBig = await Assert.ThrowsAsync<DrmException>(() => ctx.Send(new PvDrm.Protocol.Requests.GemRead(gem.Handle, 0, 16 << 20)));
        Assert.Equal(Errno.E2BIG, tooBig.Errno);
    }

    [Fact]
    public async Task Closing_a_handle_while_a_cpu_prep_waits_cancels_the_wait()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 1));
        var waiting = target.CpuPrepAsync();

        await target.CloseAsync();

        var cancelled = await Assert.ThrowsAsync<DrmException>(() => waiting).WaitAsync(HostHarness.Timeout);
        Assert.Equal(Errno.ECANCELED, cancelled.Errno);
        await semaphore.WriteAsync(0, BitConverter.GetBytes(1u));
        await ctx.FenceWaitAsync(1).WaitAsync(HostHarness.Timeout); // the pushbuf still ran: it held its own reference
    }

    [Fact]
    public async Task A_cpu_prep_that_outlives_its_timeout_gets_ETIMEDOUT()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var target = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.AcquireThenFill(semaphore, 1, target, 1));

        var timedOut = await Assert.ThrowsAsync<DrmException>(() => target.CpuPrepAsync(timeout: TimeSpan.FromMilliseconds(50)));
        Assert.Equal(Errno.ETIMEDOUT, timedOut.Errno);
        await semaphore.WriteAsync(0, BitConverter.GetBytes(1u));
    }

    [Fact]
    public void Closing_a_handle_gives_its_quota_and_mapped_bytes_back_before_answering()
    {
        var session = ActorSpecKit.Session(this);
        IGpuDevice device = HostHarness.NewSoftGpu();
        using var file = device.OpenSession(session.Name);
        GemMailbox.EnsureConfigured(Sys);
        Assert.True(session.TryChargeMemory(4096));
        Assert.True(session.Quota.Handles.TryTake()); // as the context does before it creates the actor
        var gem = new HostGem(file.CreateBuffer(4096, GemDomain.Gart, 0), device, session, 4096, session.Gems);
        var actor = Sys.ActorOf(GemActor.Props(session, 1, gem));

        foreach (var map in new[] { new GemMap(1).To(TestActor), new GemMap(1).To(TestActor) })
        {
            actor.Tell(map);
            Assert.Equal(0, this.AnswerTo(map).Status);
        }
        Assert.Equal(4096, session.MappedBytes); // the pages count once, however often they are handed out

        var close = new GemClose(1).To(TestActor);
        actor.Tell(new GemProtocol.Close(close));
        Assert.Equal(0, this.AnswerTo(close).Status);
        Assert.Equal(0, session.Quota.Handles.Used);
        Assert.Equal(0, session.MappedBytes);
    }

    [Fact]
    public void A_request_queued_behind_a_close_gets_EBADF_without_touching_the_buffer()
    {
        var session = ActorSpecKit.Session(this);
        IGpuDevice device = HostHarness.NewSoftGpu();
        using var file = device.OpenSession(session.Name);
        GemMailbox.EnsureConfigured(Sys);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var buffer = new HeldBuffer(file.CreateBuffer(4096, GemDomain.Gart, 0), entered, release);
        Assert.True(session.TryChargeMemory(4096));
        Assert.True(session.Quota.Handles.TryTake());
        var actor = Sys.ActorOf(GemActor.Props(session, 1, new HostGem(buffer, device, session, 4096, session.Gems)));

        // The write holds the actor inside the buffer, so the close and the read queue behind it.
        var first = new GemWrite(1, 0, new byte[16]).To(TestActor);
        actor.Tell(first);
        Assert.True(entered.Wait(HostHarness.Timeout), "the write should reach the buffer");
        var close = new GemClose(1).To(TestActor);
        var late = new GemRead(1, 0, 16).To(TestActor);
        actor.Tell(new GemProtocol.Close(close));
        actor.Tell(late);
        release.Set();

        Assert.Equal(0, this.AnswerTo(first).Status);
        var refused = this.AnswerTo(late);
        Assert.Equal(-Errno.EBADF, refused.Status);
        Assert.Contains("handle 1 is being closed", refused.Message);
        Assert.Equal(0, buffer.Reads); // the late read never reached the buffer
        Assert.Equal(0, this.AnswerTo(close).Status);
        Assert.Equal(0, session.Quota.Handles.Used);
    }

    /// <summary>A buffer whose writes wait for the spec (its actor is busy while the spec queues more), and which counts its reads.</summary>
    private sealed class HeldBuffer(IGpuBuffer inner, ManualResetEventSlim entered, ManualResetEventSlim release) : IGpuBuffer
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public ulong Size => inner.Size;

        public GemDomain Domain => inner.Domain;

        public FileDescriptor Fd => inner.Fd;

        public void Read(ulong offset, Span<byte> destination)
        {
            Interlocked.Increment(ref _reads);
            inner.Read(offset, destination);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> source)
        {
            entered.Set();
            release.Wait(HostHarness.Timeout);
            inner.Write(offset, source);
        }

        public void AddRef() => inner.AddRef();

        public void Release() => inner.Release();
    }
}
