using System.Collections.Concurrent;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Native.Drm.Uapi.NouveauDrm;

namespace PvDrm.Native.Drm;

/// <summary>
/// A nouveau channel (CHANNEL_ALLOC/FREE). Submit issues DRM_NOUVEAU_GEM_PUSHBUF; its fence
/// signals when NOUVEAU_GEM_CPU_PREP (blocking, WRITE: waits for readers and writers) has
/// returned for every buffer the pushbuf used. Those waits block in the kernel, so they run on
/// this channel's own fence thread, one submission after another, never on the caller's thread.
/// A buffer busy with later work delays the fence: it signals late, never early.
/// </summary>
internal sealed unsafe class NouveauChannel : IGpuChannel
{
    private readonly DrmSession _session;
    private readonly DrmGpuDevice _device;
    private readonly object _lock = new();
    private readonly BlockingCollection<Pending> _pending = new();
    private ulong _lastSeqno;
    private volatile bool _closed;

    private NouveauChannel(DrmSession session, int channel)
    {
        _session = session;
        _device = session.DrmDevice;
        Channel = channel;
        var thread = new Thread(WaitLoop) { IsBackground = true, Name = $"pvdrm-fence-{_device.Name}-{channel}" };
        thread.Start();
    }

    /// <summary>The kernel's channel id.</summary>
    public int Channel { get; }

    /// <summary>A channel in <paramref name="session"/>'s file: it can use only that file's buffers.</summary>
    public static NouveauChannel Create(DrmSession session)
    {
        // Zeroed, as libdrm sends it for Fermi and later: the kernel picks the graphics engine.
        var request = new drm_nouveau_channel_alloc();
        session.File.Ioctl(DRM_IOCTL_NOUVEAU_CHANNEL_ALLOC, &request);
        return new NouveauChannel(session, request.channel);
    }

    public GpuFence Submit(Pushbuf pushbuf)
    {
        if (_closed) ErrnoException.Throw(Errno.ENODEV, "channel is closed");
        var request = NouveauPushbuf.Translate(_session, pushbuf, size => (DrmBuffer)_session.CreateBuffer(size, GemDomain.Gart, 0));
        // The submission holds a reference on every buffer until its fence signals (the staging buffer's is its only one).
        int referenced = 0;
        try
        {
            foreach (var b in request.Buffers)
            {
                if (b != request.Staging) b.AddRef();
                referenced++;
            }
            lock (_lock)
            {
                if (_closed) ErrnoException.Throw(Errno.ENODEV, "channel is closed");
                if (request.Push.Length > 0) Push(request);
                var fence = new GpuFence(++_lastSeqno);
                _device.OnSubmitted();
                _pending.Add(new Pending(fence, request.Buffers));
                return fence;
            }
        }
        catch
        {
            for (int i = 0; i < referenced; i++) request.Buffers[i].Release();
            if (referenced < request.Buffers.Length) request.Staging?.Release();
            throw;
        }
    }

    private void Push(NouveauPushbuf.Request request)
    {
        fixed (drm_nouveau_gem_pushbuf_bo* bos = request.Bos)
        fixed (drm_nouveau_gem_pushbuf_push* push = request.Push)
        {
            var call = new drm_nouveau_gem_pushbuf
            {
                channel = (uint)Channel,
                nr_buffers = (uint)request.Bos.Length,
                buffers = (ulong)bos,
                nr_push = (uint)request.Push.Length,
                push = (ulong)push,
            };
            _session.File.Ioctl(DRM_IOCTL_NOUVEAU_GEM_PUSHBUF, &call, $"channel {Channel}, {request.Bos.Length} buffers, {request.Push.Length} push entries");
        }
    }

    private void WaitLoop()
    {
        foreach (var pending in _pending.GetConsumingEnumerable())
        {
            int error;
            string? message;
            try { (error, message) = WaitIdle(pending.Buffers); }
            catch (ErrnoException e) { (error, message) = (e.Errno, e.Message); }
            foreach (var b in pending.Buffers)
            {
                // A handle the kernel refuses to free fails the fence visibly rather than silently.
                try { b.Release(); }
                catch (ErrnoException e) when (error == 0) { (error, message) = (e.Errno, e.Message); }
                catch (ErrnoException) { }
            }
            _device.OnCompleted();
            pending.Fence.TrySignal(error, message);
        }
    }

    /// <summary>CPU_PREP then CPU_FINI on each buffer; the kernel gives up after 30 s with EBUSY, and the wait goes on while the channel is open.</summary>
    private (int Error, string? Message) WaitIdle(DrmBuffer[] buffers)
    {
        var file = _session.File;
        foreach (var buffer in buffers)
        {
            var prep = new drm_nouveau_gem_cpu_prep { handle = buffer.Handle, flags = NOUVEAU_GEM_CPU_PREP_WRITE };
            int error;
            while ((error = file.TryIoctl(DRM_IOCTL_NOUVEAU_GEM_CPU_PREP, &prep)) == Errno.EBUSY && !_closed) { }
            if (error == Errno.EBUSY) return (Errno.ETIMEDOUT, $"the GPU was still using handle {buffer.Handle} when channel {Channel} closed");
            if (error != 0) return (error, file.Failure(DRM_IOCTL_NOUVEAU_GEM_CPU_PREP, error, $"handle {buffer.Handle}").Message);
            var fini = new drm_nouveau_gem_cpu_fini { handle = buffer.Handle };
            error = file.TryIoctl(DRM_IOCTL_NOUVEAU_GEM_CPU_FINI, &fini);
            if (error != 0) return (error, file.Failure(DRM_IOCTL_NOUVEAU_GEM_CPU_FINI, error, $"handle {buffer.Handle}").Message);
        }
        return (0, null);
    }

    /// <summary>
    /// Frees the channel in the kernel (nouveau lets it go idle first). Work already pushed is not
    /// cancelled: a GPU cannot take it back, so its fences signal when it has finished.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_closed) return;
            _closed = true;
        }
        var free = new drm_nouveau_channel_free { channel = Channel };
        int error = _session.File.TryIoctl(DRM_IOCTL_NOUVEAU_CHANNEL_FREE, &free);
        _pending.CompleteAdding();
        _session.OnChannelClosed();
        if (error != 0) throw _session.File.Failure(DRM_IOCTL_NOUVEAU_CHANNEL_FREE, error, $"channel {Channel}");
    }

    private sealed record Pending(GpuFence Fence, DrmBuffer[] Buffers);
}
