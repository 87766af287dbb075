using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Gem;

namespace PvDrm.Tests.Host;

/// <summary>The GEM actors' lean mailbox queue: order kept across growth and wrap-around, nothing lost on clean-up.</summary>
public class GemMailboxTests : TestKit
{
    private static Envelope Message(int n) => new(n, ActorRefs.NoSender);

    [Fact]
    public void Messages_come_out_in_order_while_the_ring_wraps_and_grows()
    {
        var queue = new GemMailbox.Queue();
        Assert.False(queue.HasMessages);
        var seen = new List<int>();
        int next = 0;
        // Uneven bursts: the head moves round the ring before each growth.
        foreach (int burst in new[] { 3, 5, 2, 9, 1, 17, 4, 33 })
        {
            for (int i = 0; i < burst; i++) queue.Enqueue(ActorRefs.Nobody, Message(next++));
            for (int i = 0; i < burst / 2 + 1 && queue.TryDequeue(out var e); i++) seen.Add((int)e.Message);
        }
        while (queue.TryDequeue(out var e)) seen.Add((int)e.Message);

        Assert.Equal(Enumerable.Range(0, next), seen);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Clean_up_hands_every_waiting_message_to_dead_letters_in_order()
    {
        var queue = new GemMailbox.Queue();
        var dead = new GemMailbox.Queue();
        for (int i = 0; i < 6; i++) queue.Enqueue(ActorRefs.Nobody, Message(i));

        queue.CleanUp(ActorRefs.Nobody, dead);

        Assert.False(queue.HasMessages);
        var moved = new List<int>();
        while (dead.TryDequeue(out var e)) moved.Add((int)e.Message);
        Assert.Equal(Enumerable.Range(0, 6), moved);
    }

    [Fact]
    public void Any_actor_system_can_host_actors_on_it_once_configured()
    {
        GemMailbox.EnsureConfigured(Sys);
        GemMailbox.EnsureConfigured(Sys); // idempotent

        var echo = Sys.ActorOf(Props.Create(() => new Echo()).WithMailbox(GemMailbox.Id));
        for (int i = 0; i < 10; i++) echo.Tell(i, TestActor);

        for (int i = 0; i < 10; i++) ExpectMsg(i, TimeSpan.FromSeconds(10));
    }

    private sealed class Echo : UntypedActor
    {
        protected override void OnReceive(object message) => Sender.Tell(message);
    }
}
