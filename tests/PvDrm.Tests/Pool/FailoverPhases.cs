using System.Diagnostics;
using PvDrm.Actors.Host.Control;

namespace PvDrm.Tests.Pool;

/// <summary>
/// A failover's phases, in milliseconds from the kill: what one node's <c>cluster-status</c>
/// shows of the lost node (unreachable, downed) and of the guest's placement (moved off it),
/// polled while the guest retries, and the guest's own first verified run elsewhere. A phase
/// seen only through a later one (a poll that found the node already downed) counts as reached
/// at the latest then. Reported, never compared with a time limit (CLUSTER.md, "Failover time").
/// </summary>
internal sealed class FailoverPhases
{
    public const string Unreachable = "unreachable", Downed = "downed", Moved = "moved", Verified = "verified";
    private static readonly string[] Order = [Unreachable, Downed, Moved, Verified];

    /// <summary>How often the node is asked: the phases' resolution, beside the node's own answer time.</summary>
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(20);

    private readonly Stopwatch _sinceKill = Stopwatch.StartNew();
    private readonly Dictionary<string, long> _at = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    /// <summary>Records <paramref name="phase"/> now unless it was already, and every earlier phase not yet seen.</summary>
    public void Mark(string phase)
    {
        long now = _sinceKill.ElapsedMilliseconds;
        lock (_lock)
            foreach (string p in Order.Take(Array.IndexOf(Order, phase) + 1))
                _at.TryAdd(p, now);
    }

    public long? At(string phase)
    {
        lock (_lock) return _at.TryGetValue(phase, out long t) ? t : null;
    }

    /// <summary>Polls <paramref name="control"/> until it shows <paramref name="guest"/> moved off <paramref name="node"/>, or <paramref name="stop"/>.</summary>
    public async Task WatchAsync(string control, string node, string guest, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && At(Moved) == null)
        {
            var status = await PoolTests.PoolStatus(control);
            string state = status.Nodes.FirstOrDefault(n => n.Name == node)?.State ?? "Removed"; // the leader withdraws a lost node's entry
            if (state == "Unreachable") Mark(Unreachable);
            if (state is "Down" or "Removed") Mark(Downed);
            if (status.Assignments.TryGetValue(guest, out var placement) && !placement.StartsWith(node + "/", StringComparison.Ordinal)) Mark(Moved);
            await Task.Delay(PollEvery, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Each phase reached no earlier than the one before it.</summary>
    public void AssertOrdered()
    {
        for (int i = 1; i < Order.Length; i++)
        {
            long? before = At(Order[i - 1]), after = At(Order[i]);
            Assert.True(before != null && after != null && before <= after, $"{Order[i - 1]} should come before {Order[i]}: {this}");
        }
    }

    /// <summary>The phases and the time each took after the one before, e.g. for the test's output.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        long previous = 0;
        foreach (string p in Order)
            if (At(p) is { } t)
            {
                parts.Add($"{p} at {t} ms (+{t - previous})");
                previous = t;
            }
            else parts.Add($"{p} not seen");
        return string.Join(", ", parts);
    }
}
