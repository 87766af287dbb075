using Akka.Actor;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;
using PvDrm.Actors.Host.Gem;

namespace PvDrm.Actors.Host.Context;

/// <summary>
/// Imports: GEM_IMPORT by global name, PRIME_IMPORT by descriptor, and SCRUB imports, whose
/// buffer is zeroed off the context's thread and whose handle opens once it is.
/// </summary>
internal sealed partial class ContextActor
{
    /// <summary>Objects never move between devices: opening one that lives on another fails with EXDEV.</summary>
    private bool OnThisDevice(Request r, HostGem gem)
    {
        if (gem.Device == _device) return true;
        r.Fail(Errno.EXDEV, $"{OpTable.NameOf(r.Op)}: the buffer lives on device {gem.Device.Name} and context {_id} of guest {_session.Name} is on device {_device.Name}; buffers are shared only between guests of the same device");
        return false;
    }

    private void GemImport(GemImport r)
    {
        if (!_handles.CheckNew(r, r.Handle)) return;
        // Names of guests this one may not share with do not exist for it.
        var gem = _session.Gems.Lookup(r.Name, _session.Name);
        if (gem == null)
        {
            r.Fail(Errno.ENOENT, $"GEM_IMPORT: no GEM object has the global name {r.Name} for guest {_session.Name}");
            return;
        }
        if (!OnThisDevice(r, gem)) return;
        gem.AddHandle();
        if ((r.ImportFlags & GemImportFlags.Scrub) != 0) StartScrub(r, gem);
        else Open(r, r.Handle, gem);
    }

    private void PrimeImport(PrimeImport r)
    {
        using var fd = r.TakeFd()!;
        if (!_handles.CheckNew(r, r.Handle)) return;
        HostGem? gem;
        try
        {
            gem = _session.Gems.LookupFile(fd);
        }
        catch (ErrnoException e)
        {
            r.Fail(Errno.EINVAL, $"PRIME_IMPORT: the descriptor cannot be used: {e.Message}");
            return;
        }
        if (gem != null)
        {
            if (!_session.Gems.MayShare(gem.Owner.Name, _session.Name))
            {
                r.Fail(Errno.EACCES, $"PRIME_IMPORT: the buffer belongs to guest {gem.Owner.Name}, and sharing between {gem.Owner.Name} and {_session.Name} is not allowed (pvdrm.host.sharing.groups)");
                return;
            }
            if (!OnThisDevice(r, gem)) return;
            gem.AddHandle();
            Open(r, r.Handle, gem);
            return;
        }
        // Memory another process made: adopt it as a new object of this guest.
        if (PrimeAdoption.Adopt(r, fd, _session, _device, _file) is { } adopted) Open(r, r.Handle, adopted);
    }

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
        _handles.Reserve(r, gem);
        var self = Self;
        scrub.ContinueWith(t => self.Tell(new ScrubFinished(r.Handle, t.Exception?.InnerException)), TaskContinuationOptions.ExecuteSynchronously);
    }

    private void ScrubDone(ScrubFinished done)
    {
        if (!_handles.TryEndScrub(done.Handle, out var pending)) return;
        if (!_handles.Scrubbing) Stash.UnstashAll(); // after this reply, in the order they came
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
