namespace PvDrm.Actors.Protocol;

/// <summary>Bounds the decoder enforces before any request reaches an actor.</summary>
public sealed record ProtocolLimits
{
    public const uint Version = 1;

    /// <summary>HELLO reply capability: buffers can be mapped (GEM_MAP and PRIME pass descriptors all the way).</summary>
    public const uint CapabilityMap = 1;

    /// <summary>HELLO reply capability: the host takes a shared-memory ring (RING_ATTACH).</summary>
    public const uint CapabilityRing = 2;

    public int MaxFrame { get; init; } = 256 * 1024;
    public int MaxPushbufBuffers { get; init; } = 256;
    public int MaxPushEntries { get; init; } = 256;
    public int MaxNameBytes { get; init; } = 64;
    public int MaxTokenBytes { get; init; } = 256;

    public static ProtocolLimits Default { get; } = new();
}
