namespace PvDrm.Actors;

/// <summary>
/// Secrets a unit hands over with <c>LoadCredential=</c>: files in <c>$CREDENTIALS_DIRECTORY</c>,
/// readable by the service's user only, so no secret sits in the unit, the environment or argv.
/// </summary>
public static class SystemdCredentials
{
    /// <summary>The host's "name token" file (<c>LoadCredential=pvdrm-tokens:...</c>).</summary>
    public const string Tokens = "pvdrm-tokens";

    /// <summary>The proxy's own token (<c>LoadCredential=pvdrm-token:...</c>).</summary>
    public const string Token = "pvdrm-token";

    /// <summary>The path of credential <paramref name="name"/>, or null when systemd passed none by that name.</summary>
    public static string? Path(string name)
    {
        string? dir = Environment.GetEnvironmentVariable("CREDENTIALS_DIRECTORY");
        if (string.IsNullOrEmpty(dir)) return null;
        string path = System.IO.Path.Combine(dir, name);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Credential <paramref name="name"/> as one trimmed line; null when absent or empty.</summary>
    public static string? ReadLine(string name) =>
        Path(name) is { } path && File.ReadAllText(path).Trim() is { Length: > 0 } text ? text : null;
}
