namespace PvDrm.Guest.Client;

/// <summary>A host or proxy address: <c>unix:PATH</c>.</summary>
public sealed record Endpoint(string Transport, string Address)
{
    public static Endpoint Parse(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new FormatException($"'{text}' is not an endpoint; expected unix:PATH");
        string transport = text[..colon], address = text[(colon + 1)..];
        return transport switch
        {
            "unix" when address.Length > 0 => new Endpoint(transport, address),
            _ => throw new FormatException($"'{text}' is not an endpoint; expected unix:PATH"),
        };
    }

    public override string ToString() => $"{Transport}:{Address}";
}
