namespace PvDrm.Actors.Host;

/// <summary>
/// <c>pvdrm.host.sequential-turn</c>: how long one guest keeps the sequential gate while others
/// wait. A turn is at most <see cref="Requests"/> requests in a row, and no request holds the gate
/// longer than <see cref="Timeout"/>; then the next guest with requests waiting goes.
/// </summary>
public sealed record SequentialTurnSettings
{
    public const string Root = HostSettings.Root + ".sequential-turn";

    /// <summary>Requests one guest runs in a row while another guest has requests waiting.</summary>
    public int Requests { get; init; } = 1;

    /// <summary>The longest one request holds the gate; then the gate moves on and the request runs on beside it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    internal static SequentialTurnSettings Create(SettingsReader c) => new()
    {
        Requests = c.Int("requests", 1, 1 << 20),
        Timeout = c.Duration("timeout"),
    };
}
