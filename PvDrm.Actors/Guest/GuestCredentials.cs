namespace PvDrm.Actors.Guest;

/// <summary>
/// A guest's name and token handed over as files, not as flags or environment values (which any
/// process of the container, and /proc/PID/environ, would show): <c>PVDRM_CREDENTIALS</c> names a
/// folder holding <c>name</c> and <c>token</c>, as a container's share mounts it (pvdrm-host cdi
/// generate, pvdrm-host device-plugin). A name or token given explicitly wins over the folder.
/// </summary>
public static class GuestCredentials
{
    /// <summary>The environment variable naming the credentials folder.</summary>
    public const string Variable = "PVDRM_CREDENTIALS";

    /// <summary>Where a container's share mounts the folder (read-only).</summary>
    public const string ContainerPath = "/run/pvdrm/credentials";

    /// <summary>The file of the guest's name in the folder.</summary>
    public const string NameFile = "name";

    /// <summary>The file of the guest's token in the folder.</summary>
    public const string TokenFile = "token";

    /// <summary>
    /// The name and token to present: each explicit value if given, else the folder's file if
    /// <see cref="Variable"/> is set, else <paramref name="defaultName"/> and no token.
    /// </summary>
    public static (string Name, string Token) Resolve(string? name, string? token, string defaultName)
    {
        string? folder = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } v ? v : null;
        return (name is { Length: > 0 } ? name : Read(folder, NameFile) ?? defaultName,
                token is { Length: > 0 } ? token : Read(folder, TokenFile) ?? "");
    }

    private static string? Read(string? folder, string file)
    {
        if (folder == null) return null;
        string path = Path.Combine(folder, file);
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Akka.Configuration.ConfigurationException($"{Variable}: cannot read {path}: {e.Message}");
        }
    }
}
