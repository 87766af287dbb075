namespace PvDrm.Actors.Host;

/// <summary><c>pvdrm.host.auth</c>: who is admitted at HELLO.</summary>
public sealed record AuthSettings
{
    /// <summary>The "name token" file; null: no tokens.</summary>
    public string? TokensFile { get; init; }

    /// <summary>Uids admitted without a token (SO_PEERCRED).</summary>
    public IReadOnlyList<int> UnixUids { get; init; } = Array.Empty<int>();

    /// <summary>Admit Unix peers running as the host's own user or as root.</summary>
    public bool SameUid { get; init; } = true;

    internal static AuthSettings Create(SettingsReader c)
    {
        string tokens = c.String("auth.tokens-file");
        return new AuthSettings
        {
            TokensFile = tokens.Length == 0 ? null : tokens,
            UnixUids = c.IntList("auth.unix-uids"),
            SameUid = c.Bool("auth.same-uid"),
        };
    }
}
