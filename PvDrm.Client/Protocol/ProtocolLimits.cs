namespace PvDrm.Protocol;

/// <summary>Bounds the decoder enforces before any request reaches an actor.</summary>
public sealed record ProtocolLimits
{
    /// <summary>The protocol version HELLO carries.</summary>
    public const uint Version = 1;

    /// <summary>HELLO reply capability: buffers can be mapped (GEM_MAP and PRIME pass descriptors all the way).</summary>
    public const uint CapabilityMap = 1;

    /// <summary>HELLO reply capability: the host takes a shared-memory ring (RING_ATTACH).</summary>
    public const uint CapabilityRing = 2;

    /// <summary>Bytes of the largest frame.</summary>
    public int MaxFrame { get; init; } = 256 * 1024;
    /// <summary>Buffers one PUSHBUF may name.</summary>
    public int MaxPushbufBuffers { get; init; } = 256;
    /// <summary>Push entries one PUSHBUF may carry.</summary>
    public int MaxPushEntries { get; init; } = 256;
    /// <summary>Bytes of a guest name in HELLO.</summary>
    public int MaxNameBytes { get; init; } = 64;
    /// <summary>Bytes of a token in HELLO.</summary>
    public int MaxTokenBytes { get; init; } = 256;

    /// <summary>The limits a host uses unless configured otherwise.</summary>
    public static ProtocolLimits Default { get; } = new();
}
