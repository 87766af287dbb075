using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>
/// A host of a pool answers a guest whose device is on another node with EREMOTE and a message
/// that starts with <see cref="Prefix"/>, then the address (PROTOCOL.md, "Redirects").
/// </summary>
public static class Redirects
{
    /// <summary>How a redirect's message starts.</summary>
    public const string Prefix = "redirect to ";

    /// <summary>The address a redirect names (up to the first ": "), or null when the message is not one.</summary>
    public static string? AddressIn(string? message)
    {
        if (message == null || !message.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        int end = message.IndexOf(": ", Prefix.Length, StringComparison.Ordinal);
        return end > Prefix.Length ? message[Prefix.Length..end] : null;
    }

    /// <summary>The node <paramref name="reply"/> redirects to, or null when it is not a redirect.</summary>
    public static string? TargetOf(ReplyFrame reply) => reply.Status == -Errno.EREMOTE ? AddressIn(reply.Message) : null;

    /// <summary>The ELOOP message for a requester that followed <paramref name="hops"/> redirects (<paramref name="maxRedirects"/> allowed), the last <paramref name="why"/>.</summary>
    public static string TooMany(int hops, int maxRedirects, string why) =>
        $"redirected {hops + 1} times (at most {maxRedirects} are followed), giving up ({why})";
}
