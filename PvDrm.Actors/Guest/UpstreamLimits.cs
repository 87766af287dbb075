namespace PvDrm.Actors.Guest;

/// <summary>How the proxy shares its one host link among its applications (pvdrm.guest.upstream).</summary>
public sealed record UpstreamLimits
{
    /// <summary>The HOCON keys, for messages that name the limit.</summary>
    public static class Keys
    {
        public const string Window = "pvdrm.guest.upstream.window";
        public const string InFlightPerApplication = "pvdrm.guest.upstream.in-flight-per-application";
        public const string RequestsPerApplication = "pvdrm.guest.upstream.requests-per-application";
        public const string MaxQueuedBytes = "pvdrm.guest.upstream.max-queued-bytes";
        public const string MaxQueuedBytesPerApplication = "pvdrm.guest.upstream.max-queued-bytes-per-application";
    }

    /// <summary>Requests in flight to the host for all applications together.</summary>
    public int Window { get; init; } = 224;

    /// <summary>Of those, the most one application holds: strictly fewer than <see cref="Window"/>.</summary>
    public int InFlightPerApplication { get; init; } = 64;

    /// <summary>Requests one application may have unanswered in the proxy; at the limit its socket is not read.</summary>
    public int RequestsPerApplication { get; init; } = 256;

    /// <summary>Bytes of requests waiting in the proxy for a slot, all applications together.</summary>
    public long MaxQueuedBytes { get; init; } = 64L << 20;

    /// <summary>The same for one application: strictly less than <see cref="MaxQueuedBytes"/>.</summary>
    public long MaxQueuedBytesPerApplication { get; init; } = 16L << 20;
}
