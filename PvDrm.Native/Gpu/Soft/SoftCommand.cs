namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// One decoded, validated command, held only while it runs (never stored per pushbuf). Field
/// use by opcode: FILL (Dst, Size, Value), COPY (Src, Dst, Size), SAXPY (Src = x, Dst = y, N,
/// Alpha), GEMM (A, B, Dst = C, M, N, K, Alpha, Beta), SEMAPHORE_* (Dst, Value).
/// </summary>
internal readonly record struct SoftCommand(
    SoftOpcode Op,
    BufferRange A,
    BufferRange B,
    BufferRange Src,
    BufferRange Dst,
    ulong Size,
    uint M,
    uint N,
    uint K,
    float Alpha,
    float Beta,
    uint Value);

/// <summary>A byte offset inside the buffer at <see cref="Index"/> of the pushbuf's buffer list.</summary>
internal readonly record struct BufferRange(uint Index, ulong Offset);
