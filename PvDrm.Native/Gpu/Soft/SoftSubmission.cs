using System.Diagnostics;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// A validated pushbuf waiting for, running on, or between turns on an engine; holds one
/// reference per listed buffer and its owner's charge for queued commands. Its commands stay
/// the private copy of the words (decoded again as each one runs), and where execution stands
/// is kept here, so a pushbuf can yield its engine at a boundary and resume on any engine.
/// </summary>
internal sealed class SoftSubmission
{
    public SoftSubmission(SoftBuffer[] buffers, BufferAccess[] access, byte[] stream, SoftOwner owner, long charge, GpuFence fence)
    {
        Buffers = buffers;
        Access = access;
        Stream = stream;
        Owner = owner;
        Charge = charge;
        Fence = fence;
    }

    public SoftBuffer[] Buffers { get; }

    /// <summary>For a scrub (no commands): the buffer whose pages it frees, a chunk per step.</summary>
    public SoftBuffer? Scrub { get; init; }

    public BufferAccess[] Access { get; }

    /// <summary>The validated command words: the only form the work takes while it waits.</summary>
    public byte[] Stream { get; }

    public SoftOwner Owner { get; }

    /// <summary>Bytes charged to the owner's and the device's queued-command budget until <see cref="Finish"/>.</summary>
    public long Charge { get; }

    public GpuFence Fence { get; }

    // Where execution stands. Only the engine running the pushbuf touches these, and a pushbuf
    // passes between engines only through the engines' lock, which orders the accesses.

    /// <summary>The word where the next command (or the one that yielded) starts, and its number.</summary>
    public int NextWord;
    public int NextIndex;

    /// <summary>How far the current command got (bytes, elements or GEMM blocks, by opcode).</summary>
    public long Progress;

    /// <summary>When the current SEMAPHORE_ACQUIRE started waiting (Stopwatch ticks), or 0.</summary>
    public long WaitingSince;

    /// <summary>While parked: the semaphore word and the value it waits for.</summary>
    public BufferRange ParkedOn;
    public uint ParkedFor;

    public bool Started => NextIndex > 0 || Progress > 0 || WaitingSince != 0;

    /// <summary>A parked acquire may go on: the value arrived, its time ran out, or it must stop.</summary>
    public bool MayResume(TimeSpan timeout, bool cancelled)
    {
        if (cancelled || Stopwatch.GetElapsedTime(WaitingSince) > timeout) return true;
        // Through the descriptor: a parked channel holds no mapping, and a read error lets it resume and fail.
        try
        {
            return Buffers[ParkedOn.Index].ReadWord(ParkedOn.Offset) >= ParkedFor;
        }
        catch (ErrnoException)
        {
            return true;
        }
    }

    /// <summary>
    /// Drops the buffer references, the queued-command charge and counts the completion, then
    /// signals the fence: whoever waits on it sees the memory freed and the stats settled. Never
    /// throws, because it runs on engine threads, which must survive anything a waiter does.
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
        device.CommandBudget.Discharge(Owner, Charge);
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
