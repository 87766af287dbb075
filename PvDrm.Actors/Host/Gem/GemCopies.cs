using PvDrm.Actors.Host.Loop;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Protocol;

namespace PvDrm.Actors.Host.Gem;

/// <summary>
/// A GEM object's GEM_READ and GEM_WRITE copies, in arrival order. On the I/O loop a copy of
/// <see cref="IoLoopDispatcher.LargeCopy"/> bytes or more (and any copy queued behind one) runs
/// on the thread pool, so one guest's large copy never holds up the other connections of the
/// loop; everywhere else, and for small copies, the copy runs at once on the actor's thread.
/// </summary>
internal sealed class GemCopies
{
    private Task _last = Task.CompletedTask;

    /// <summary>True when <see cref="Run"/> would copy on the caller's thread.</summary>
    public static bool RunsHere(GemCopies? copies, ulong length) =>
        copies is null or { _last.IsCompleted: true } && (length < IoLoopDispatcher.LargeCopy || !IoLoopDispatcher.OnLoop);

    /// <summary>
    /// Runs <paramref name="copy"/> (which answers <paramref name="request"/>) after the copies
    /// before it, off the loop. The buffer is held meanwhile: a GEM_CLOSE that overtakes the copy
    /// cannot free its memory under it. A failing copy fails its request only.
    /// </summary>
    public void Run(Request request, IGpuBuffer buffer, string subject, Action<IGpuBuffer, Request> copy)
    {
        buffer.AddRef();
        _last = _last.ContinueWith(_ =>
        {
            try
            {
                copy(buffer, request);
            }
            catch (ErrnoException e)
            {
                request.Fail(e.Errno, $"{OpTable.NameOf(request.Op)}: {subject}: {e.Message}");
            }
            catch (Exception e)
            {
                request.Fail(Errno.EIO, $"{OpTable.NameOf(request.Op)}: {subject}: the copy failed: {e.Message}");
            }
            finally
            {
                buffer.Release();
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}
