using System.Diagnostics;
using PvDrm.Native.Gpu.Soft.Kernels;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// Runs a validated submission on the calling engine thread. Commands were fully checked when
/// decoded, so this only computes; an unexpected exception still fails the fence with EIO
/// rather than taking the engine down. A cancelled channel (closed, or its device shut down)
/// stops its pushbuf at the next command and ends a semaphore wait at once, so a departed
/// guest frees its engine promptly.
/// </summary>
internal static unsafe class SoftExecutor
{
    public static (int Error, string? Message) Run(SoftSubmission submission, SoftChannel channel, SoftGpuOptions options)
    {
        var commands = submission.Commands;
        for (int i = 0; i < commands.Length; i++)
        {
            if (channel.CancelReason is string before) return (Errno.ECANCELED, $"{before} before command {i} ran");
            try
            {
                if (Execute(commands[i], submission.Buffers, channel, options)) continue;
            }
            catch (Exception e)
            {
                return (Errno.EIO, $"command {i} ({SoftOpcodes.Name(commands[i].Op)}) failed: {e.Message}");
            }
            // Only a semaphore acquire stops short: cancelled or timed out.
            return channel.CancelReason is string during
                ? (Errno.ECANCELED, $"{during} while command {i} ({SoftOpcodes.Name(commands[i].Op)}) waited")
                : (Errno.ETIMEDOUT, $"command {i} ({SoftOpcodes.Name(commands[i].Op)}): the semaphore did not reach {commands[i].Value} within {options.SemaphoreTimeout.TotalMilliseconds:F0} ms; the rest of the pushbuf was skipped");
        }
        return (0, null);
    }

    /// <summary>Returns false only when a semaphore acquire gave up (timeout or cancelled channel).</summary>
    private static bool Execute(in SoftCommand c, SoftBuffer[] buffers, SoftChannel channel, SoftGpuOptions options)
    {
        switch (c.Op)
        {
            case SoftOpcode.Nop:
                return true;
            case SoftOpcode.Fill:
                new Span<uint>(At(buffers, c.Dst), (int)(c.Size / 4)).Fill(c.Value);
                return true;
            case SoftOpcode.Copy:
                // Span.CopyTo is memmove: overlapping ranges in one buffer are fine.
                new ReadOnlySpan<byte>(At(buffers, c.Src), (int)c.Size).CopyTo(new Span<byte>(At(buffers, c.Dst), (int)c.Size));
                return true;
            case SoftOpcode.Saxpy:
                Saxpy.Run(c.Alpha, (float*)At(buffers, c.Src), (float*)At(buffers, c.Dst), (int)c.N);
                return true;
            case SoftOpcode.Gemm:
                Gemm.Run((int)c.M, (int)c.N, (int)c.K, c.Alpha, (float*)At(buffers, c.A), (float*)At(buffers, c.B), c.Beta, (float*)At(buffers, c.Dst));
                return true;
            case SoftOpcode.SemaphoreRelease:
                // A full fence, then a release store: every earlier write is visible before the value.
                Interlocked.MemoryBarrier();
                Volatile.Write(ref *(uint*)At(buffers, c.Dst), c.Value);
                return true;
            case SoftOpcode.SemaphoreAcquire:
                return Acquire((uint*)At(buffers, c.Dst), c.Value, channel, options.SemaphoreTimeout);
            default:
                throw new InvalidOperationException($"opcode {c.Op} passed validation but has no implementation");
        }
    }

    private static byte* At(SoftBuffer[] buffers, BufferRange range) => buffers[range.Index].Pointer + range.Offset;

    /// <summary>Polls until *at ≥ value: spins briefly, then sleeps 1 ms at a time, until the timeout or a cancel.</summary>
    private static bool Acquire(uint* at, uint value, SoftChannel channel, TimeSpan timeout)
    {
        long started = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        while (Volatile.Read(ref *at) < value)
        {
            if (Stopwatch.GetElapsedTime(started) > timeout || channel.CancelReason != null) return false;
            if (spinner.Count < 100) spinner.SpinOnce(sleep1Threshold: -1);
            else Thread.Sleep(1);
        }
        return true;
    }
}
