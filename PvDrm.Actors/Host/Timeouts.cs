namespace PvDrm.Actors.Host;

internal static class Timeouts
{
    /// <summary>A guest's timeout in nanoseconds (0: none given), capped by the host's request timeout.</summary>
    public static TimeSpan For(ulong timeoutNs, HostSettings settings)
    {
        var limit = settings.RequestTimeout;
        if (timeoutNs == 0 || timeoutNs / 100 >= (ulong)limit.Ticks) return limit;
        return TimeSpan.FromTicks(Math.Max(1, (long)(timeoutNs / 100)));
    }
}
