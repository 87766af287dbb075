namespace PvDrm.Native.Gpu.Soft;

/// <summary>Limits and engine count of a <see cref="SoftGpu"/>.</summary>
public sealed record SoftGpuOptions
{
    /// <summary>More engine threads than this is a configuration mistake, not a bigger GPU.</summary>
    public const int MaxEngines = 1024;

    /// <summary>Engine threads (1..<see cref="MaxEngines"/>); a pushbuf runs on one at a time, and may move between them when it yields.</summary>
    public int Engines { get; init; } = Environment.ProcessorCount;

    /// <summary>Device memory: the most all live buffers may take together (also reported as VRAM size).</summary>
    public ulong MemoryBytes { get; init; } = 4UL << 30;

    /// <summary>The largest single buffer, at most 2 GiB - 1 (the engines address buffers with 32-bit spans).</summary>
    public ulong MaxBufferBytes { get; init; } = 1UL << 30;

    /// <summary>
    /// Buffer memfds the device may hold at once (EMFILE beyond). Each backed buffer has one, and
    /// at most one host mapping, so this bounds the host's descriptors and map count whatever guests
    /// do: keep it well under RLIMIT_NOFILE and vm.max_map_count (65530 by default).
    /// </summary>
    public int MaxDescriptors { get; init; } = 32768;

    /// <summary>The most buffers one command uses, and so pins mapped while it runs (GEMM: A, B and C).</summary>
    public const int MostPinnedByOneCommand = 3;

    /// <summary>
    /// Host mappings of buffers the device keeps at once, whatever guests do: buffers are mapped
    /// when a command touches them and the least recently used unpinned mapping is unmapped
    /// beyond this (<see cref="SoftMappingCache"/>). At least <see cref="MostPinnedByOneCommand"/>
    /// per engine, so the commands running at once can always be mapped.
    /// </summary>
    public int MaxMappings { get; init; } = 8192;

    /// <summary>
    /// A guest's share of <see cref="MaxMappings"/>: past it, its new mappings evict its own least
    /// recently used ones, so its churn cannot evict another guest's hot set.
    /// </summary>
    public int MaxMappingsPerOwner { get; init; } = 1024;

    /// <summary>
    /// The most bytes a scrub (SCRUB import) frees in one step. Scrubs run on the engines as the
    /// asking guest's work, a step at a time, so they cost its engine time and yield like a pushbuf.
    /// </summary>
    public int ScrubChunkBytes { get; init; } = 8 << 20;

    /// <summary>The largest command stream one pushbuf may carry.</summary>
    public int MaxCommandBytes { get; init; } = 1 << 20;

    /// <summary>How long SEMAPHORE_ACQUIRE waits before its pushbuf fails with ETIMEDOUT.</summary>
    public TimeSpan SemaphoreTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a pushbuf keeps its engine while other work waits for one: it then yields at the
    /// next command or tile boundary and goes to the back of the run queue.
    /// </summary>
    public TimeSpan TimeSlice { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Command bytes one owner (guest) may have queued or running on this device; more is refused with EAGAIN.</summary>
    public long MaxQueuedCommandBytesPerOwner { get; init; } = 16L << 20;

    /// <summary>Command bytes all owners together may have queued or running on this device.</summary>
    public long MaxQueuedCommandBytes { get; init; } = 256L << 20;

    /// <summary>What the device reports itself as (driver name, version, chipset); commands are SoftGpu's either way.</summary>
    public SoftGpuPersonality Personality { get; init; } = SoftGpuPersonality.PvDrm;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first property out of range.</summary>
    internal void Validate()
    {
        if (Engines < 1 || Engines > MaxEngines)
            throw new ArgumentOutOfRangeException(nameof(Engines), Engines, $"between 1 and {MaxEngines} engine threads");
        if (MemoryBytes < 4096 || MemoryBytes > long.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(MemoryBytes), MemoryBytes, "between one page and 2^63 - 1 bytes");
        if (MaxBufferBytes < 4096 || MaxBufferBytes > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(MaxBufferBytes), MaxBufferBytes, "between one page and 2 GiB");
        if (MaxDescriptors < 1) throw new ArgumentOutOfRangeException(nameof(MaxDescriptors), MaxDescriptors, "at least one descriptor");
        if (MaxMappingsPerOwner < MostPinnedByOneCommand)
            throw new ArgumentOutOfRangeException(nameof(MaxMappingsPerOwner), MaxMappingsPerOwner, $"at least the {MostPinnedByOneCommand} buffers one command uses");
        if (MaxMappings < MaxMappingsPerOwner || MaxMappings < MostPinnedByOneCommand * Engines)
            throw new ArgumentOutOfRangeException(nameof(MaxMappings), MaxMappings, $"at least one guest's share and {MostPinnedByOneCommand} per engine");
        if (ScrubChunkBytes < 4096 || ScrubChunkBytes % 4096 != 0)
            throw new ArgumentOutOfRangeException(nameof(ScrubChunkBytes), ScrubChunkBytes, "a whole number of pages");
        if (MaxCommandBytes < 4) throw new ArgumentOutOfRangeException(nameof(MaxCommandBytes), MaxCommandBytes, "at least one command word");
        if (TimeSlice <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeSlice), TimeSlice, "must be positive");
        if (MaxQueuedCommandBytesPerOwner < MaxCommandBytes)
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedCommandBytesPerOwner), MaxQueuedCommandBytesPerOwner, "at least one pushbuf of the largest command stream");
        if (MaxQueuedCommandBytes < MaxQueuedCommandBytesPerOwner)
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedCommandBytes), MaxQueuedCommandBytes, "at least what one owner may queue");
        if (SemaphoreTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SemaphoreTimeout), SemaphoreTimeout, "must be positive");
    }
}

/// <summary>How a <see cref="SoftGpu"/> presents itself in GET_VERSION and GET_PARAM.</summary>
public enum SoftGpuPersonality
{
    /// <summary>Driver "softgpu" 1.0.0, chipset 0.</summary>
    PvDrm,

    /// <summary>
    /// Driver "nouveau" 1.3.0, chipset 0xc0 (Fermi): libdrm_nouveau takes its ABI16 path below
    /// 1.3.1 and, from chipset 0xc0, allocates channels with the zeroed request PvDrm expects.
    /// </summary>
    Nouveau,
}
