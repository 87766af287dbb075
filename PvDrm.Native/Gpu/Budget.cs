namespace PvDrm.Native.Gpu;

/// <summary>
/// A counted resource with a limit, named by the configuration key that sets it. Takes are
/// reservations by compare-and-swap: the count never passes the limit, not even for an instant
/// between a take and its undo, and no amount (2^64 - 1 included) can wrap it. Thread-safe.
/// </summary>
public sealed class Budget
{
    private long _used;

    /// <param name="key">The configuration key of the limit, for refusal messages (e.g. limits.memory-per-guest).</param>
    public Budget(string key, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Key = key;
        Limit = limit;
    }

    public string Key { get; }

    public long Limit { get; }

    public long Used => Volatile.Read(ref _used);

    /// <summary>Reserves <paramref name="amount"/>; false (nothing taken) when it would pass the limit.</summary>
    public bool TryTake(ulong amount = 1)
    {
        if (amount > (ulong)Limit) return false;
        long wanted = (long)amount;
        while (true)
        {
            long used = Volatile.Read(ref _used);
            if (wanted > Limit - used) return false;
            if (Interlocked.CompareExchange(ref _used, used + wanted, used) == used) return true;
        }
    }

    /// <summary>Gives back what a <see cref="TryTake"/> reserved.</summary>
    public void Return(ulong amount = 1)
    {
        if (amount > (ulong)Limit || Interlocked.Add(ref _used, -(long)amount) < 0)
            throw new InvalidOperationException($"{Key}: more returned than was taken");
    }

    public override string ToString() => $"{Key}: {Used} of {Limit}";
}
