namespace PvDrm.Native.Gpu.Soft;

/// <summary>A validated pushbuf waiting for or running on an engine; holds one reference per buffer.</summary>
internal sealed class SoftSubmission
{
    public SoftSubmission(SoftBuffer[] buffers, SoftCommand[] commands, GpuFence fence)
    {
        Buffers = buffers;
        Commands = commands;
        Fence = fence;
    }

    public SoftBuffer[] Buffers { get; }

    public SoftCommand[] Commands { get; }

    public GpuFence Fence { get; }

    /// <summary>Drops the buffer references, then signals the fence: whoever waits may free the buffers.</summary>
    public void Finish(int error = 0, string? message = null)
    {
        foreach (var b in Buffers) b.Release();
        Fence.TrySignal(error, message);
    }
}
