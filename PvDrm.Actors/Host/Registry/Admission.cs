using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host.Registry;

/// <summary>
/// Decides HELLO, binding names to credentials. A name in the tokens file is admitted only with
/// its token. A name listed under a uid in <c>auth.uid-names</c> is admitted only for that uid
/// (over Unix, SO_PEERCRED), and such a uid only for its names. Any other name is admitted for a
/// uid in <c>auth.unix-uids</c>, or the host's own user or root when <c>auth.same-uid</c> is on.
/// So no peer can take a name that belongs to another credential, to borrow its sharing group
/// and device or to lock its guest out with EBUSY. Tokens are kept as SHA-256 digests and
/// compared in constant time, and an unknown name costs the same comparison as a known one.
/// </summary>
public sealed class Admission
{
    private static readonly byte[] s_unknownName = SHA256.HashData(RandomNumberGenerator.GetBytes(32));

    private readonly AuthSettings _settings;
    private readonly Dictionary<string, byte[]> _tokens;
    // Names bound by auth.uid-names, and the uids each belongs to.
    private readonly Dictionary<string, List<uint>> _uidsOfName = new(StringComparer.Ordinal);
    private readonly uint _ownUid = (uint)Tmds.Linux.LibC.geteuid();
    // Tokens granted at run time over the control socket (a container's share); only the guest
    // registry touches them, so they need no lock.
    private readonly Dictionary<string, byte[]> _granted = new(StringComparer.Ordinal);

    private Admission(AuthSettings settings, Dictionary<string, byte[]> tokens)
    {
        _settings = settings;
        _tokens = tokens;
        foreach (var (uid, names) in settings.UidNames)
            foreach (string name in names)
            {
                if (tokens.ContainsKey(name))
                    throw new ConfigurationException($"pvdrm.host.auth.uid-names.{uid}: guest '{name}' has a token in pvdrm.host.auth.tokens-file; a name is bound to a token or to uids, not both");
                (_uidsOfName.TryGetValue(name, out var uids) ? uids : _uidsOfName[name] = new()).Add(uid);
            }
    }

    /// <summary>How many names have a token.</summary>
    public int Tokens => _tokens.Count;

    /// <summary>Uids that <c>auth.unix-uids</c> admits for any unbound name: worth a warning at start.</summary>
    public IEnumerable<int> UidsForAnyName => _settings.UnixUids.Where(u => !_settings.UidNames.ContainsKey((uint)u));

    /// <summary>Reads the tokens file, if any; a missing or malformed file stops start-up naming it.</summary>
    public static Admission Load(AuthSettings settings)
    {
        var tokens = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (settings.TokensFile is { } path)
        {
            const string key = "pvdrm.host.auth.tokens-file";
            if (!File.Exists(path)) throw new ConfigurationException($"{key}: {path} does not exist");
            int number = 0;
            foreach (string raw in File.ReadLines(path))
            {
                number++;
                string line = raw.Split('#', 2)[0].Trim();
                if (line.Length == 0) continue;
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                    throw new ConfigurationException($"{key}: {path}:{number}: expected \"name token\"");
                if (!tokens.TryAdd(parts[0], Digest(parts[1])))
                    throw new ConfigurationException($"{key}: {path}:{number}: guest '{parts[0]}' appears twice");
            }
        }
        return new Admission(settings, tokens);
    }

    /// <summary>True when the tokens file may be read by users other than its owner.</summary>
    public static bool IsExposed(string tokensFile) =>
        (File.GetUnixFileMode(tokensFile) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;

    /// <summary>
    /// Binds <paramref name="name"/> to <paramref name="token"/> until the host stops (the control
    /// command <c>grant</c>, used by <c>pvdrm-host device-plugin</c> and <c>cdi generate</c>); a later
    /// grant of the same name replaces the token. Null when granted; otherwise why not: a name the
    /// configuration binds (tokens file, uid-names) stays bound to its own credential.
    /// </summary>
    public string? Grant(string name, string token)
    {
        if (token.Length < 16) return "a granted token must be at least 16 characters";
        if (_tokens.ContainsKey(name)) return $"guest '{name}' has a token in pvdrm.host.auth.tokens-file; it cannot be granted another";
        if (_uidsOfName.ContainsKey(name)) return $"guest '{name}' belongs to a uid in pvdrm.host.auth.uid-names; it cannot be granted a token";
        _granted[name] = Digest(token);
        return null;
    }

    /// <summary>
    /// A reload's new admission keeps the tokens granted at run time, except for names the new
    /// configuration now binds itself. Returns how many were kept.
    /// </summary>
    public int KeepGrants(Admission older)
    {
        foreach (var (name, digest) in older._granted)
            if (!_tokens.ContainsKey(name) && !_uidsOfName.ContainsKey(name)) _granted[name] = digest;
        return _granted.Count;
    }

    /// <summary>True when <paramref name="name"/> was granted a token at run time.</summary>
    public bool IsGranted(string name) => _granted.ContainsKey(name);

    /// <summary>True when a credential owns <paramref name="name"/>: a token (file or grant) or a uid-names entry.</summary>
    public bool Binds(string name) => _tokens.ContainsKey(name) || _granted.ContainsKey(name) || _uidsOfName.ContainsKey(name);

    /// <summary>Null when the guest is admitted; otherwise why not (naming the key that decides), for the guest and the log.</summary>
    public string? Refusal(string name, string token, PeerCredentials? peer)
    {
        bool hasToken = _tokens.TryGetValue(name, out var expected) || _granted.TryGetValue(name, out expected);
        bool tokenOk = CryptographicOperations.FixedTimeEquals(expected ?? s_unknownName, Digest(token));
        if (tokenOk && hasToken) return null;
        string byToken = token.Length > 0 ? "the token does not match" : "no token was given";
        if (peer is not { } p) return $"guest '{name}' is not admitted: {byToken} and the transport has no peer uid";
        if (hasToken)
            return $"guest '{name}' is not admitted: {byToken}, and a name with a token (pvdrm.host.auth.tokens-file, or granted) is taken only with it (uid {p.Uid} does not admit it)";
        if (_settings.UidNames.TryGetValue(p.Uid, out var names))
            return names.Contains(name) ? null
                : $"guest '{name}' is not admitted: {byToken}, and uid {p.Uid} may take only its names in pvdrm.host.auth.uid-names ({string.Join(", ", names.Order(StringComparer.Ordinal))})";
        if (_uidsOfName.TryGetValue(name, out var owners))
            return $"guest '{name}' is not admitted: {byToken}, and the name belongs to uid {string.Join(", ", owners)} in pvdrm.host.auth.uid-names, not to uid {p.Uid}";
        if (_settings.UnixUids.Contains((int)p.Uid)) return null;
        if (_settings.SameUid && (p.Uid == _ownUid || p.Uid == 0)) return null;
        return $"guest '{name}' is not admitted: {byToken} and uid {p.Uid} is not admitted by pvdrm.host.auth";
    }

    /// <summary>
    /// True for a name bound to no credential (no token, no <c>uid-names</c> entry): a peer takes
    /// it on its uid alone, and <c>auth.names-per-uid</c> caps how many of them it holds.
    /// </summary>
    public bool IsFree(string name) => !_tokens.ContainsKey(name) && !_uidsOfName.ContainsKey(name);

    /// <summary>The most free names one uid holds at once (<c>auth.names-per-uid</c>).</summary>
    public int NamesPerUid => _settings.NamesPerUid;

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
