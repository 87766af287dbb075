using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host.Gate;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Actors.Host.Gate.GateProtocol;

namespace PvDrm.Tests.Host;

/// <summary>A guest link's way along the published routes, with probes as the gate and the guest's actor.</summary>
public class GuestRouteSpec : TestKit
{
    private sealed class Unanswered : IReplySink
    {
        public void Complete(Request request, int status, ReadOnlySpan<byte> payload, string? message, FileDescriptor? fd, GpuFence? work) { }
    }

    /// <summary>A request as the link dispatches it: with somewhere for its answer to go.</summary>
    private static Request Dispatched(uint id) => new PvDrm.Protocol.Requests.GetVersion { RequestId = id, ReplyTo = new Unanswered() };

    [Fact]
    public void A_later_request_follows_an_unanswered_one_through_the_gate_after_a_switch_off_and_goes_straight_once_it_is_answered()
    {
        var (gate, guest) = (CreateTestProbe(), CreateTestProbe());
        var routes = new PublishedRoute();
        routes.Publish(new SequentialRoute(gate));
        var route = new GuestRoute(routes);

        var first = Dispatched(1);
        Assert.True(route.ThroughGate(first, guest));
        Assert.Same(first, gate.ExpectMsg<Wait>(HostHarness.Timeout).Request);

        // The gate switches off while the first may still be on its way to it.
        var concurrent = new ConcurrentRoute(gate);
        routes.Publish(concurrent);
        var second = Dispatched(2);
        Assert.True(route.ThroughGate(second, guest));
        Assert.Same(second, gate.ExpectMsg<PassOn>(HostHarness.Timeout).Request);
        Assert.Same(concurrent, second.Route);

        first.TakeReplyTo(); // answered; the second is not yet
        var third = Dispatched(3);
        Assert.True(route.ThroughGate(third, guest));
        Assert.Same(third, gate.ExpectMsg<PassOn>(HostHarness.Timeout).Request);

        third.TakeReplyTo(); // the last one through the gate is answered: nothing of this guest is on its way there
        var fourth = Dispatched(4);
        Assert.False(route.ThroughGate(fourth, guest)); // the link hands it straight to the guest's actor
        Assert.Same(concurrent, fourth.Route);
        gate.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_closed_concurrent_route_takes_no_more_requests_and_the_last_to_leave_it_tells_the_gate()
    {
        var gate = CreateTestProbe();
        var route = new ConcurrentRoute(gate);
        Assert.True(route.TryEnter());
        Assert.True(route.TryEnter());

        Assert.False(route.Close()); // two still on it
        Assert.False(route.TryEnter());
        route.Leave();
        gate.ExpectNoMsg(TimeSpan.Zero); // Leave tells the gate at once, if at all
        Assert.False(route.IsDrained);
        route.Leave();
        Assert.Same(route, gate.ExpectMsg<Drained>(HostHarness.Timeout).Route);
        Assert.True(route.IsDrained);
    }
}
