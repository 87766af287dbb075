using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using PvDrm.Actors.Host.Control;
using PvDrm.Actors.Host.Pool;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// Issue 19: `attach` of one guest on two nodes at once is decided by a rule every node applies
/// alike (higher version, then Akka's order of the writers' unique addresses), never by the
/// writers' clocks, and both nodes report it.
/// </summary>
public class ConcurrentPlacementTests : IDisposable
{
    private readonly Processes _run = new();

    private static UniqueAddress Node(int port, int uid) => new(new Address("akka.tcp", "pvdrm", "127.0.0.1", port), uid);

    [Fact]
    public void Two_writes_of_one_version_merge_to_the_same_winner_whatever_the_order_and_a_later_version_replaces_it()
    {
        Placement N1 = new("n1/soft0", 1, "n1"), N2 = new("n2/soft0", 1, "n2");
        var fromN1 = PlacementTable.Set(PlacementTable.Empty, Node(2551, 2), "vm", N1);
        var fromN2 = PlacementTable.Set(PlacementTable.Empty, Node(2552, 1), "vm", N2);
        // Written in the other order (the wall clock would pick the other), merged both ways: one winner.
        var fromN2First = PlacementTable.Set(PlacementTable.Empty, Node(2552, 1), "vm", N2);
        var fromN1Second = PlacementTable.Set(PlacementTable.Empty, Node(2551, 2), "vm", N1);
        var winners = new[] { fromN1.Merge(fromN2), fromN2.Merge(fromN1), fromN2First.Merge(fromN1Second), fromN1Second.Merge(fromN2First) }
            .Select(m => PlacementTable.Entries(m)["vm"]).Distinct().ToList();
        Assert.Single(winners);
        // A rewrite (one more than what its node had seen) wins, from either node, merged either way.
        var loser = winners[0] == N1 ? (Node(2552, 1), "n2") : (Node(2551, 2), "n1");
        var later = PlacementTable.Set(fromN2.Merge(fromN1), loser.Item1, "vm", new Placement($"{loser.Item2}/soft0", 2, loser.Item2));
        Assert.Equal(new Placement($"{loser.Item2}/soft0", 2, loser.Item2), PlacementTable.Entries(later.Merge(fromN1))["vm"]);
        Assert.Equal(new Placement($"{loser.Item2}/soft0", 2, loser.Item2), PlacementTable.Entries(fromN2.Merge(later))["vm"]);
    }

    [Fact]
    public async Task Attaching_one_guest_on_two_nodes_at_once_ends_the_same_on_both_and_a_conflict_is_reported_by_both()
    {
        var nodes = new PoolNodes(_run);
        await nodes.Start("n1");
        await nodes.Start("n2");
        await PoolTests.AwaitPool(nodes.Control("n1"), s => PoolTests.AllUp(s, 2) && s.Nodes.All(n => n.Devices.Count == 1), "two nodes should be up");
        await PoolTests.AwaitPool(nodes.Control("n2"), s => PoolTests.AllUp(s, 2) && s.Nodes.All(n => n.Devices.Count == 1), "n2 should see both nodes");

        // Timing decides whether two attaches overlap; tried with fresh names until one pair did.
        for (int attempt = 0; attempt < 40; attempt++)
        {
            string guest = $"vm{attempt}";
            var replies = await Task.WhenAll(
                ControlClient.SendAsync(nodes.Control("n1"), new ControlProtocol.Request("attach", guest, Value: "n1/soft0"), Processes.Timeout),
                ControlClient.SendAsync(nodes.Control("n2"), new ControlProtocol.Request("attach", guest, Value: "n2/soft0"), Processes.Timeout));
            var onN1 = await PoolTests.AwaitPool(nodes.Control("n1"), s => s.Assignments.ContainsKey(guest), $"n1 should place {guest}");
            var onN2 = await PoolTests.AwaitPool(nodes.Control("n2"), s => s.Assignments.GetValueOrDefault(guest) == onN1.Assignments[guest]
                || s.Conflicts!.Any(c => c.StartsWith($"guest {guest}:")), $"n2 should agree with n1 on {guest}");
            bool overlapped = replies.Any(r => r.Message.Contains("concurrent")) || onN1.Conflicts!.Concat(onN2.Conflicts!).Any(c => c.StartsWith($"guest {guest}:"));
            if (!overlapped) continue;

            // Same version: Akka's order of the two writers decides, the same on both nodes, and both report it.
            var decided = await PoolTests.AwaitPool(nodes.Control("n1"), s => s.Conflicts!.Any(c => c.StartsWith($"guest {guest}:")), $"n1 should report {guest}'s conflict");
            string line = decided.Conflicts!.First(c => c.StartsWith($"guest {guest}:"));
            string winner = line.Contains("n1/soft0 (version 1, written by n1) wins over n2/soft0 (version 1, written by n2)") ? "n1/soft0"
                : line.Contains("n2/soft0 (version 1, written by n2) wins over n1/soft0 (version 1, written by n1)") ? "n2/soft0" : throw new Xunit.Sdk.XunitException(line);
            foreach (string node in new[] { "n1", "n2" })
                await PoolTests.AwaitPool(nodes.Control(node), s => s.Conflicts!.Contains(line) && s.Assignments.GetValueOrDefault(guest) == winner,
                    $"{node} should report {guest}'s conflict and place it on {winner}");
            // An operator whose attach lost is told so when its read-back already saw the winner.
            Assert.DoesNotContain(replies, r => !r.Ok && !r.Message.Contains("lost"));
            return;
        }
        Assert.Fail("no two attaches overlapped in 40 tries");
    }

    public void Dispose() => _run.Dispose();
}
