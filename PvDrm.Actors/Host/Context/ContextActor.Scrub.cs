using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Gem;

namespace PvDrm.Actors.Host.Context;

/// <summary>SCRUB imports: the buffer is zeroed off the context's thread, and the handle opens once it is.</summary>
internal sealed partial class ContextActor
{
    /// <summary>
    /// Starts zeroing <paramref name="gem"/> (whose handle count already includes the import) and
    /// keeps the requested handle from other requests until <see cref="ScrubDone"/> opens it.
    /// </summary>
    private void StartScrub(GemImport r, HostGem gem)
    {
        // A GEM cache hands the buffer to another application: zero it. Off this thread: SoftGpu
        // frees the pages on its engines, a chunk per step charged to this guest, and the
        // handle is answered (and kept from other requests) once that is done.
        Task scrub;
        try
        {
            scrub = gem.Buffer.ZeroAsync(_session.Name);
        }
        catch (ErrnoException e)
        {
            gem.ReleaseHandle();
            r.Fail(e.Errno, $"GEM_IMPORT: scrubbing the buffer failed: {e.Message}");
            return;
        }
        _scrubbing[r.Handle] = (r, gem);
        var self = Self;
        scrub.ContinueWith(t => self.Tell(new ScrubFinished(r.Handle, t.Exception?.InnerException)), TaskContinuationOptions.ExecuteSynchronously);
    }

    private void ScrubDone(ScrubFinished done)
    {
        if (!_scrubbing.Remove(done.Handle, out var pending)) return;
        if (_scrubbing.Count == 0) Stash.UnstashAll(); // after this reply, in the order they came
        if (done.Failure != null)
        {
            pending.Gem.ReleaseHandle();
            pending.Request.Fail(done.Failure is ErrnoException e ? e.Errno : Errno.EIO, $"GEM_IMPORT: scrubbing the buffer failed: {done.Failure.Message}");
            return;
        }
        Open(pending.Request, done.Handle, pending.Gem);
    }

    /// <summary>A scrub for the handle ended; <see cref="Failure"/> says why it failed, or is null.</summary>
    private sealed record ScrubFinished(uint Handle, Exception? Failure);
}
