namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// One recorded placement of a guest: where it goes (<c>node/device</c> or <c>none</c>), the
/// version of the guest's placement it is (each rewrite is one more than the placement it
/// replaces), and the node that wrote it. Two nodes that place the same guest at once both
/// write the same version; <see cref="PlacementTable"/> says which wins.
/// </summary>
public sealed record Placement(string Where, long Version, string Writer)
{
    public string Encode() => $"{Version}|{Writer}|{Where}";

    /// <summary>Null for anything not written by <see cref="Encode"/>.</summary>
    public static Placement? Decode(string text)
    {
        string[] parts = text.Split('|', 3);
        return parts.Length == 3 && long.TryParse(parts[0], out long version) ? new Placement(parts[2], version, parts[1]) : null;
    }

    public override string ToString() => $"{Where} (version {Version}, written by {Writer})";
}
