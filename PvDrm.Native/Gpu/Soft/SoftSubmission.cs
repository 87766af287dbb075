using System.Diagnostics;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>A validated pushbuf waiting for or running on an engine; holds one reference per listed buffer.</summary>
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

    /// <summary>
    /// Drops the buffer references and counts the completion, then signals the fence: whoever
    /// waits on it sees the memory freed and the stats settled. Never throws, because it runs
    /// on engine threads, which must survive anything a waiter does.
    /// </summary>
    public void Finish(SoftGpu device, int error, string? message)
    {
        foreach (var b in Buffers)
        {
            try
            {
                b.Release();
            }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
            {
                // Someone else released our reference: a bug, but not this pushbuf's to crash on.
                if (error == 0) (error, message) = (Errno.EIO, $"releasing a buffer after the pushbuf: {e.Message}");
            }
        }
        device.OnCompleted();
        try
        {
            Fence.TrySignal(error, message);
        }
        catch (Exception e)
        {
            // The fence is signalled before its callbacks run; one of them threw (they must not).
            Trace.TraceError($"SoftGpu {device.Name}: a callback of {Fence} threw: {e}");
        }
    }
}
