namespace PvDrm.Native.Gpu;

/// <summary>
/// Engine time a device has spent, in all and per owner (guest), for status and metrics: the
/// device's busy ratio is the rate of <see cref="BusySeconds"/> over <see cref="Engines"/>.
/// An owner's figure counts from its first open channel and starts again after it had none.
/// </summary>
public sealed record EngineUse(int Engines, double BusySeconds, IReadOnlyDictionary<string, double> SecondsByOwner)
{
    /// <summary>A device that does not account engine time (a DRM node's kernel does it).</summary>
    public static EngineUse None { get; } = new(0, 0, new Dictionary<string, double>());
}
