namespace PvDrm.Protocol;

/// <summary>
/// A host of a pool answers a guest whose device is on another node with EREMOTE and a message
/// that starts with <see cref="Prefix"/>, then the address (PROTOCOL.md, "Redirects").
/// </summary>
public static class Redirects
{
    public const string Prefix = "redirect to ";

    /// <summary>The address a redirect names (up to the first ": "), or null when the message is not one.</summary>
    public static string? AddressIn(string? message)
    {
        if (message == null || !message.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        int end = message.IndexOf(": ", Prefix.Length, StringComparison.Ordinal);
        return end > Prefix.Length ? message[Prefix.Length..end] : null;
    }
}
