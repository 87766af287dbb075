using System.Diagnostics;
using PvDrm.Native.Gpu.Soft.Kernels;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>How a turn on an engine ended.</summary>
internal enum SoftRunEnd
{
    /// <summary>The pushbuf completed or failed; its fence signals.</summary>
    Finished,

    /// <summary>Its slice ran out while others waited: it goes back to the run queue.</summary>
    Yielded,

    /// <summary>A SEMAPHORE_ACQUIRE waits: the channel parks off the engines until it may go on.</summary>
    Parked,
}

/// <summary>
/// Runs a validated submission on the calling engine thread, from where it stands until it
/// finishes, its slice is wanted elsewhere, or a semaphore makes it wait. Commands were checked
/// when submitted and are decoded again from the same private copy as each runs. Long commands
/// work in bounded steps (chunks of FILL, COPY, SAXPY; GEMM blocks), each a point where the
/// pushbuf may yield, so no command holds an engine for long. An unexpected exception fails the
/// fence with EIO rather than taking the engine down; a cancelled channel stops at the next step.
/// </summary>
internal static unsafe class SoftExecutor
{
    /// <summary>The most bytes FILL or COPY (or SAXPY elements × 4) handles between two chances to yield.</summary>
    internal const int StepBytes = 4 << 20;

    private enum Step { Done, Yield, Park, Cancelled, TimedOut }

    public static SoftRunEnd Run(SoftSubmission s, SoftChannel channel, SoftGpuOptions options, SoftSlice slice, SoftMappingCache mappings, out int error, out string? message)
    {
        (error, message) = (0, null);
        if (s.Scrub is { } target) return Scrub(target, s, channel, options, slice, mappings, out error, out message);
        var pins = new SoftPins(mappings, s.Buffers, s.Owner.Name);
        int words = s.Stream.Length / 4;
        while (s.NextWord < words)
        {
            int index = s.NextIndex, next = s.NextWord;
            var op = (SoftOpcode)(s.Stream[next * 4] | (s.Stream[next * 4 + 1] << 8));
            if (channel.CancelReason is string why)
            {
                (error, message) = (Errno.ECANCELED, s.Started ? $"{why} while command {index} ({SoftOpcodes.Name(op)}) ran" : $"{why} before command {index} ran");
                return SoftRunEnd.Finished;
            }
            Step step;
            try
            {
                var command = SoftCommandDecoder.DecodeAt(s.Stream, ref next, index, s.Buffers, s.Access);
                step = Execute(command, s, channel, options, slice, pins);
            }
            catch (Exception e)
            {
                // An errno (the mapping cache full of pinned mappings, mmap failing) keeps its number and key.
                (error, message) = (e is ErrnoException errno ? errno.Errno : Errno.EIO, $"command {index} ({SoftOpcodes.Name(op)}) failed: {e.Message}");
                return SoftRunEnd.Finished;
            }
            finally
            {
                pins.Release();
            }
            switch (step)
            {
                case Step.Done:
                    (s.NextWord, s.NextIndex, s.Progress, s.WaitingSince) = (next, index + 1, 0, 0);
                    if (next < words && slice.ShouldYield() && channel.CancelReason == null) return SoftRunEnd.Yielded;
                    continue;
                case Step.Yield:
                    // Cancelled work stops here (the loop's first check), rather than at its next turn.
                    if (channel.CancelReason == null) return SoftRunEnd.Yielded;
                    continue;
                case Step.Park:
                    return SoftRunEnd.Parked;
                case Step.Cancelled:
                    (error, message) = (Errno.ECANCELED, $"{channel.CancelReason} while command {index} ({SoftOpcodes.Name(op)}) waited");
                    return SoftRunEnd.Finished;
                default:
                    uint value = BitConverter.ToUInt32(s.Stream, (s.NextWord + 4) * 4);
                    (error, message) = (Errno.ETIMEDOUT, $"command {index} ({SoftOpcodes.Name(op)}): the semaphore did not reach {value} within {options.SemaphoreTimeout.TotalMilliseconds:F0} ms; the rest of the pushbuf was skipped");
                    return SoftRunEnd.Finished;
            }
        }
        return SoftRunEnd.Finished;
    }

    private static Step Execute(in SoftCommand c, SoftSubmission s, SoftChannel channel, SoftGpuOptions options, SoftSlice slice, SoftPins buffers)
    {
        switch (c.Op)
        {
            case SoftOpcode.Nop:
                return Step.Done;
            case SoftOpcode.Fill:
            {
                byte* dst = buffers.At(c.Dst);
                while (Chunk(c.Size, s, slice, out long at, out int bytes))
                    new Span<uint>(dst + at, bytes / 4).Fill(c.Value);
                return s.Progress == (long)c.Size ? Step.Done : Step.Yield;
            }
            case SoftOpcode.Copy:
            {
                byte* src = buffers.At(c.Src), dst = buffers.At(c.Dst);
                // Overlapping with the destination above the source, memmove runs backwards; so do the chunks.
                bool backwards = dst > src && dst < src + c.Size;
                while (Chunk(c.Size, s, slice, out long at, out int bytes))
                {
                    if (backwards) at = (long)c.Size - at - bytes;
                    new ReadOnlySpan<byte>(src + at, bytes).CopyTo(new Span<byte>(dst + at, bytes));
                }
                return s.Progress == (long)c.Size ? Step.Done : Step.Yield;
            }
            case SoftOpcode.Saxpy:
            {
                float* x = (float*)buffers.At(c.Src), y = (float*)buffers.At(c.Dst);
                while (Chunk((ulong)c.N * 4, s, slice, out long at, out int bytes))
                    Saxpy.Run(c.Alpha, x + at / 4, y + at / 4, bytes / 4);
                return s.Progress == (long)c.N * 4 ? Step.Done : Step.Yield;
            }
            case SoftOpcode.Gemm:
                return Gemm.Run((int)c.M, (int)c.N, (int)c.K, c.Alpha, (float*)buffers.At(c.A), (float*)buffers.At(c.B), c.Beta,
                    (float*)buffers.At(c.Dst), ref s.Progress, slice) ? Step.Done : Step.Yield;
            case SoftOpcode.SemaphoreRelease:
                // A full fence, then a release store: every earlier write is visible before the value.
                Interlocked.MemoryBarrier();
                Volatile.Write(ref *(uint*)buffers.At(c.Dst), c.Value);
                return Step.Done;
            case SoftOpcode.SemaphoreAcquire:
                return Acquire(c, s, channel, options.SemaphoreTimeout, slice, buffers);
            default:
                throw new InvalidOperationException($"opcode {c.Op} passed validation but has no implementation");
        }
    }

    /// <summary>
    /// The next chunk of a command of <paramref name="total"/> bytes: false when it is complete or
    /// when the slice is wanted elsewhere (checked between chunks, never before the first of a turn).
    /// </summary>
    private static bool Chunk(ulong total, SoftSubmission s, SoftSlice slice, out long at, out int bytes)
    {
        at = s.Progress;
        bytes = (int)Math.Min((ulong)StepBytes, total - (ulong)at);
        if (bytes == 0) return false;
        if (at > 0 && slice.ShouldYield()) return false;
        s.Progress += bytes;
        return true;
    }

    /// <summary>
    /// A scrub's turn: frees its buffer's pages a chunk (soft-gpu.scrub-chunk) at a time, so a
    /// huge scrub yields between chunks like any long command and costs its guest engine time.
    /// </summary>
    private static SoftRunEnd Scrub(SoftBuffer target, SoftSubmission s, SoftChannel channel, SoftGpuOptions options, SoftSlice slice, SoftMappingCache mappings,
        out int error, out string? message)
    {
        (error, message) = (0, null);
        try
        {
            // An idle mapping would keep page tables for pages about to go.
            if (s.Progress == 0) mappings.Drop(target);
            // At least one chunk a turn, so scrubs make progress however short the slice.
            for (bool first = true; channel.CancelReason == null && s.Progress < (long)target.Size; first = false)
            {
                if (!first && slice.ShouldYield()) break;
                long bytes = Math.Min(options.ScrubChunkBytes, (long)target.Size - s.Progress);
                target.PunchOut((ulong)s.Progress, (ulong)bytes);
                s.Progress += bytes;
                target.Device.OnScrubChunk();
            }
        }
        catch (Exception e)
        {
            (error, message) = (e is ErrnoException errno ? errno.Errno : Errno.EIO, $"scrubbing the buffer failed at byte {s.Progress}: {e.Message}");
            return SoftRunEnd.Finished;
        }
        if (s.Progress == (long)target.Size) return SoftRunEnd.Finished;
        if (channel.CancelReason is string why)
        {
            (error, message) = (Errno.ECANCELED, $"{why} while the buffer was being scrubbed");
            return SoftRunEnd.Finished;
        }
        return SoftRunEnd.Yielded;
    }

    /// <summary>
    /// Polls until *at ≥ value while the engine is not wanted elsewhere; once it is, parks the
    /// channel instead (the engines re-check it). The timeout counts from the first wait.
    /// </summary>
    private static Step Acquire(in SoftCommand c, SoftSubmission s, SoftChannel channel, TimeSpan timeout, SoftSlice slice, SoftPins buffers)
    {
        uint* at = (uint*)buffers.At(c.Dst);
        if (s.WaitingSince == 0) s.WaitingSince = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        while (Volatile.Read(ref *at) < c.Value)
        {
            if (channel.CancelReason != null) return Step.Cancelled;
            if (Stopwatch.GetElapsedTime(s.WaitingSince) > timeout) return Step.TimedOut;
            if (slice.ShouldYield())
            {
                (s.ParkedOn, s.ParkedFor) = (c.Dst, c.Value);
                return Step.Park;
            }
            if (spinner.Count < 100) spinner.SpinOnce(sleep1Threshold: -1);
            else Thread.Sleep(1);
        }
        return Step.Done;
    }
}
