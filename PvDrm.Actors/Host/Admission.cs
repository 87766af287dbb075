using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host;

/// <summary>
/// Decides HELLO. A guest is admitted by a valid token for its name, or (Unix peers) by its uid:
/// listed in <c>auth.unix-uids</c>, or the host's own user or root when <c>auth.same-uid</c> is on.
/// Tokens are kept as SHA-256 digests and compared in constant time, and an unknown name costs
/// the same comparison as a known one.
/// </summary>
public sealed class Admission
{
    private static readonly byte[] s_unknownName = SHA256.HashData(RandomNumberGenerator.GetBytes(32));

    private readonly AuthSettings _settings;
    private readonly Dictionary<string, byte[]> _tokens;
    private readonly uint _ownUid = (uint)Tmds.Linux.LibC.geteuid();

    private Admission(AuthSettings settings, Dictionary<string, byte[]> tokens)
    {
        _settings = settings;
        _tokens = tokens;
    }

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

    /// <summary>Null when the guest is admitted; otherwise why not, for the guest and the log.</summary>
    public string? Refusal(string name, string token, PeerCredentials? peer)
    {
        bool tokenOk = CryptographicOperations.FixedTimeEquals(
            _tokens.TryGetValue(name, out var expected) ? expected : s_unknownName, Digest(token));
        if (tokenOk && expected != null) return null;
        if (peer is { } p)
        {
            if (_settings.UnixUids.Contains((int)p.Uid)) return null;
            if (_settings.SameUid && (p.Uid == _ownUid || p.Uid == 0)) return null;
        }
        string byToken = token.Length > 0 ? "the token does not match" : "no token was given";
        string byUid = peer is { } q ? $"uid {q.Uid} is not admitted by pvdrm.host.auth" : "the transport has no peer uid";
        return $"guest '{name}' is not admitted: {byToken} and {byUid}";
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
