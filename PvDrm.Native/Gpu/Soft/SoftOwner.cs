namespace PvDrm.Native.Gpu.Soft;

/// <summary>The channels of one owner (guest) waiting for an engine, the engine time it has used, and what it holds.</summary>
internal sealed class SoftOwner
{
    public SoftOwner(string name) => Name = name;

    public string Name { get; }

    public Queue<SoftChannel> Runnable { get; } = new();

    /// <summary>Engine time used, for choosing whom to run next: raised to the least waiting owner's when it becomes runnable.</summary>
    public long UsedTicks { get; set; }

    /// <summary>Engine time used, as it was (never raised): what status and metrics show.</summary>
    public long EngineTicks { get; set; }

    public int Channels { get; set; }

    /// <summary>Engines running this owner's channels now.</summary>
    public int Running { get; set; }

    /// <summary>Command bytes of this owner's pushbufs queued or running (charged at submission).</summary>
    public long QueuedBytes { get; set; }
}
