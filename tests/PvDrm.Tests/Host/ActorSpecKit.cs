using Akka.Actor;
using Akka.TestKit;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Gem;
using PvDrm.Actors.Host.Guest;
using PvDrm.Actors.Host.Registry;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>One request's answer, as the guest's connection would have sent it.</summary>
internal sealed record Answer(Request Request, int Status, string? Message, GpuFence? Work);

/// <summary>A reply sink that hands every answer to a probe: an actor spec sees exactly what the guest would.</summary>
internal sealed class ProbeSink(IActorRef probe) : IReplySink
{
    public void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, GpuFence? work) =>
        probe.Tell(new Answer(request, status, message, work));
}

/// <summary>What an actor spec needs to run one host actor alone, with a probe in place of the guest.</summary>
internal static class ActorSpecKit
{
    /// <summary>
    /// A guest session whose link is never started (its connection's other end is closed): the
    /// actors under test only read its settings and quota, and answer through <see cref="ProbeSink"/>.
    /// </summary>
    public static GuestSession Session(TestKitBase kit, HostSettings? settings = null, string name = "spec")
    {
        settings ??= new HostSettings { ListenUnix = null };
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        guestEnd.Dispose();
        var link = new GuestLink(new SeqPacketConnection(hostEnd, settings.Connection), settings, kit.TestActor,
            Routes(kit), new RefusalLog(kit.Sys.Log));
        return new GuestSession(name, link, new GemTable(settings.SharingGroups), settings, kit.Sys.Log);
    }

    /// <summary>A concurrent route whose gate is the test actor: the actors under test never meet the gate.</summary>
    private static PvDrm.Actors.Host.Gate.PublishedRoute Routes(TestKitBase kit)
    {
        var routes = new PvDrm.Actors.Host.Gate.PublishedRoute();
        routes.Publish(new PvDrm.Actors.Host.Gate.ConcurrentRoute(kit.TestActor));
        return routes;
    }

    /// <summary>The request, answered to <paramref name="probe"/>.</summary>
    public static T To<T>(this T request, IActorRef probe) where T : Request
    {
        request.ReplyTo = new ProbeSink(probe);
        return request;
    }

    /// <summary>The next answer, which must be for <paramref name="request"/>.</summary>
    public static Answer AnswerTo(this TestKitBase kit, Request request)
    {
        var answer = kit.ExpectMsg<Answer>(HostHarness.Timeout);
        Assert.True(ReferenceEquals(request, answer.Request),
            $"expected the answer to {OpTable.NameOf(request.Op)}, got the answer to {OpTable.NameOf(answer.Request.Op)} ({answer.Status}: {answer.Message})");
        return answer;
    }

    /// <summary>A channel of the device whose disposal waits for <paramref name="release"/>: its actor cannot stop until the spec lets it.</summary>
    public static IGpuSession HoldingChannels(IGpuSession inner, ManualResetEventSlim release) => new HeldSession(inner, release);

    private sealed class HeldSession(IGpuSession inner, ManualResetEventSlim release) : IGpuSession
    {
        public IGpuDevice Device => inner.Device;

        public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => inner.CreateBuffer(size, domain, flags);

        public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain) => inner.ImportBuffer(fd, domain);

        public IGpuChannel CreateChannel(string owner) => new HeldChannel(inner.CreateChannel(owner), release);

        public void Dispose() => inner.Dispose();
    }

    private sealed class HeldChannel(IGpuChannel inner, ManualResetEventSlim release) : IGpuChannel
    {
        public GpuFence Submit(Pushbuf pushbuf) => inner.Submit(pushbuf);

        public void Dispose()
        {
            release.Wait(HostHarness.Timeout);
            inner.Dispose();
        }
    }
}

/// <summary>A device channel whose work finishes only when the spec signals its fence.</summary>
internal sealed class ScriptedChannel : IGpuChannel
{
    private readonly List<GpuFence> _submitted = new();
    private int _disposed;

    public int Disposed => Volatile.Read(ref _disposed);

    /// <summary>The device fence of the <paramref name="index"/>th submission.</summary>
    public GpuFence Submitted(int index)
    {
        lock (_submitted) return _submitted[index];
    }

    public GpuFence Submit(Pushbuf pushbuf)
    {
        lock (_submitted)
        {
            var fence = new GpuFence((ulong)_submitted.Count + 1);
            _submitted.Add(fence);
            return fence;
        }
    }

    /// <summary>Like a device, disposing does not stop work that is running: its fence signals when it stops.</summary>
    public void Dispose() => Interlocked.Increment(ref _disposed);
}
