namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// SoftGpu's command set (SOFTGPU.md). Each command is a header word (low 16 bits: opcode,
/// high 16 bits: length in words including the header) followed by fixed fields.
/// </summary>
public enum SoftOpcode : ushort
{
    Nop = 0x0000,
    Fill = 0x0001,
    Copy = 0x0002,
    Saxpy = 0x0003,
    Gemm = 0x0004,
    SemaphoreRelease = 0x0005,
    SemaphoreAcquire = 0x0006,
}

/// <summary>The fixed length of each command, shared by the writer and the decoder.</summary>
public static class SoftOpcodes
{
    /// <summary>Length in 32-bit words including the header, or 0 for an unknown opcode.</summary>
    public static int Words(SoftOpcode op) => op switch
    {
        SoftOpcode.Nop => 1,
        SoftOpcode.Fill => 7,
        SoftOpcode.Copy => 9,
        SoftOpcode.Saxpy => 9,
        SoftOpcode.Gemm => 15,
        SoftOpcode.SemaphoreRelease => 5,
        SoftOpcode.SemaphoreAcquire => 5,
        _ => 0,
    };

    public static string Name(SoftOpcode op) => op switch
    {
        SoftOpcode.Nop => "NOP",
        SoftOpcode.Fill => "FILL",
        SoftOpcode.Copy => "COPY",
        SoftOpcode.Saxpy => "SAXPY",
        SoftOpcode.Gemm => "GEMM",
        SoftOpcode.SemaphoreRelease => "SEMAPHORE_RELEASE",
        SoftOpcode.SemaphoreAcquire => "SEMAPHORE_ACQUIRE",
        _ => $"opcode 0x{(ushort)op:x4}",
    };

    public static uint Header(SoftOpcode op) => (uint)op | ((uint)Words(op) << 16);
}
