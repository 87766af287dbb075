using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Helpers for driving a SoftGpu directly, as the host's actors do.</summary>
internal static class Soft
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Gpu.Soft.SoftGpu Device(int engines = 2, TimeSpan? semaphoreTimeout = null, ulong memory = 1UL << 30) =>
        new("test", new SoftGpuOptions { Engines = engines, SemaphoreTimeout = semaphoreTimeout ?? TimeSpan.FromSeconds(20), MemoryBytes = memory });

    public static Pushbuf Inline(SoftCommandWriter commands, params (IGpuBuffer Buffer, BufferAccess Access)[] buffers) =>
        new(buffers.Select(b => b.Buffer).ToArray(), buffers.Select(b => b.Access).ToArray(),
            new[] { new PushEntry(PushEntry.InlineIndex, 0, (ulong)commands.Length) }, commands.Written.ToArray());

    public static async Task Done(GpuFence fence)
    {
        await fence.WaitAsync().WaitAsync(Timeout);
        Assert.True(fence.Error == 0, fence.Message);
    }

    public static void Write(IGpuBuffer buffer, float[] values) =>
        buffer.Write(0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

    public static float[] ReadFloats(IGpuBuffer buffer, int count)
    {
        var values = new float[count];
        buffer.Read(0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    public static float[] Random(int count, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }
}
