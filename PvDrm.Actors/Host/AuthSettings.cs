using Akka.Configuration;

namespace PvDrm.Actors.Host;

/// <summary><c>pvdrm.host.auth</c>: who is admitted at HELLO, and for which names.</summary>
public sealed record AuthSettings
{
    /// <summary>
    /// The "name token" file; null: no tokens. A name in it is taken only with its token. Empty in
    /// the configuration: the systemd credential pvdrm-tokens, when the unit passes one.
    /// </summary>
    public string? TokensFile { get; init; }

    /// <summary>
    /// Uids (SO_PEERCRED) admitted without a token only for the names listed for them; those
    /// names belong to them and to no other uid.
    /// </summary>
    public IReadOnlyDictionary<uint, IReadOnlySet<string>> UidNames { get; init; } = new Dictionary<uint, IReadOnlySet<string>>();

    /// <summary>Uids admitted without a token for any name not bound by a token or by <see cref="UidNames"/>.</summary>
    public IReadOnlyList<int> UnixUids { get; init; } = Array.Empty<int>();

    /// <summary>Admit Unix peers running as the host's own user or as root, as <see cref="UnixUids"/> does.</summary>
    public bool SameUid { get; init; } = true;

    /// <summary>
    /// Live guests one uid may hold at once under names admitted for the uid alone (free names,
    /// through <see cref="UnixUids"/> or <see cref="SameUid"/>), so trying names cannot grow the host's tables.
    /// </summary>
    public int NamesPerUid { get; init; } = 64;

    internal static AuthSettings Create(SettingsReader c)
    {
        string tokens = c.String("auth.tokens-file");
        var uidNames = new Dictionary<uint, IReadOnlySet<string>>();
        foreach (var (uid, names) in c.NameListsByKey("auth.uid-names"))
        {
            string key = $"{HostSettings.Root}.auth.uid-names.{uid}";
            if (!uint.TryParse(uid, out uint number)) throw new ConfigurationException($"{key}: '{uid}' is not a uid (a number)");
            if (names.FirstOrDefault(n => !DeviceSettings.ValidName().IsMatch(n)) is { } bad)
                throw new ConfigurationException($"{key}: '{bad}' is not a valid guest name");
            uidNames[number] = names.ToHashSet(StringComparer.Ordinal);
        }
        return new AuthSettings
        {
            TokensFile = tokens.Length == 0 ? SystemdCredentials.Path(SystemdCredentials.Tokens) : tokens,
            UidNames = uidNames,
            UnixUids = c.IntList("auth.unix-uids"),
            SameUid = c.Bool("auth.same-uid"),
            NamesPerUid = c.Int("auth.names-per-uid", 1, 1 << 20),
        };
    }
}
