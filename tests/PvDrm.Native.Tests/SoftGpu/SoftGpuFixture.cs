using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Helpers for driving a SoftGpu directly, as the host's actors do.</summary>
internal static class Soft
{
    /// <summary>Generous: fences are awaited, never slept on, so this only bounds a hang.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Gpu.Soft.SoftGpu Device(int engines = 2, TimeSpan? semaphoreTimeout = null, ulong memory = 1UL << 30) =>
        new("test", new SoftGpuOptions { Engines = engines, SemaphoreTimeout = semaphoreTimeout ?? TimeSpan.FromSeconds(20), MemoryBytes = memory });

    /// <summary>A pushbuf whose commands travel inline, with the listed buffers at indexes 0, 1, ...</summary>
    public static Pushbuf Inline(SoftCommandWriter commands, params (IGpuBuffer Buffer, BufferAccess Access)[] buffers) =>
        Inline(commands.Written.ToArray(), buffers);

    public static Pushbuf Inline(byte[] stream, params (IGpuBuffer Buffer, BufferAccess Access)[] buffers) =>
        new(buffers.Select(b => b.Buffer).ToArray(), buffers.Select(b => b.Access).ToArray(),
            new[] { new PushEntry(PushEntry.InlineIndex, 0, (ulong)stream.Length) }, stream);

    /// <summary>Waits for the fence and asserts it succeeded.</summary>
    public static async Task Done(GpuFence fence)
    {
        await Signaled(fence);
        Assert.True(fence.Error == 0, fence.Message);
    }

    public static Task Signaled(GpuFence fence) => fence.WaitAsync().WaitAsync(Timeout);

    public static void Write(IGpuBuffer buffer, float[] values, ulong offset = 0) =>
        buffer.Write(offset, MemoryMarshal.AsBytes(values.AsSpan()));

    public static float[] ReadFloats(IGpuBuffer buffer, int count, ulong offset = 0)
    {
        var values = new float[count];
        buffer.Read(offset, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    public static uint ReadU32(IGpuBuffer buffer, ulong offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        buffer.Read(offset, bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public static void WriteU32(IGpuBuffer buffer, ulong offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        buffer.Write(offset, bytes);
    }

    /// <summary>Little-endian command words as bytes, for streams the writer would not produce.</summary>
    public static byte[] Words(params uint[] words)
    {
        var bytes = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), words[i]);
        return bytes;
    }

    public static uint[] WordsOf(ReadOnlyMemory<byte> bytes) =>
        Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(bytes.Span[(i * 4)..])).ToArray();

    public static float[] Random(int count, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }
}
