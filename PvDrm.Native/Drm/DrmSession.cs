using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Drm;

/// <summary>
/// One open DRM file of a device, for one guest context (or the device's own file). Its
/// buffers and channels live in this file's handle table and GPU address space, which the
/// kernel keeps apart from every other file's: a handle or a GPU address of another guest
/// means nothing here. The file closes when the session is disposed and its last buffer and
/// channel are released; closing it makes the kernel free whatever it still holds.
/// </summary>
internal sealed unsafe class DrmSession : IGpuSession
{
    private readonly DrmGpuDevice _device;
    private readonly DrmFileBudget? _budget;
    private int _users = 1; // the session itself, plus one per live buffer and channel: the file closes at 0
    private int _disposed;

    /// <param name="budget">Where the file was charged, given back when it closes; null for the device's own file.</param>
    public DrmSession(DrmGpuDevice device, DrmFile file, string owner, DrmFileBudget? budget)
    {
        _device = device;
        File = file;
        Owner = owner;
        _budget = budget;
    }

    public IGpuDevice Device => _device;

    public DrmGpuDevice DrmDevice => _device;

    public DrmFile File { get; }

    /// <summary>The guest this file was opened for ("" for the device's own).</summary>
    public string Owner { get; }

    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags)
    {
        if (size == 0) ErrnoException.Throw(Errno.EINVAL, "buffer size must be at least 1 byte");
        if (flags != 0) ErrnoException.Throw(Errno.EINVAL, $"GEM_NEW flags 0x{flags:x} are not supported on {_device.Info.Driver}: none are defined");
        if (size > ulong.MaxValue - 4095) ErrnoException.Throw(Errno.E2BIG, $"buffer of {size} bytes is too large");
        AddUser();
        try
        {
            var buffer = _device.IsNouveau ? DrmBuffer.CreateNouveau(this, size, domain) : DrmBuffer.CreateDumb(this, size, domain);
            _device.OnBufferCreated(buffer.Size);
            return buffer;
        }
        catch
        {
            ReleaseUser();
            throw;
        }
    }

    /// <summary>PvDrm imports nothing into a DRM file (PRIME_FD_TO_HANDLE is not allowed); the descriptor is closed.</summary>
    public IGpuBuffer ImportBuffer(FileDescriptor fd, GemDomain domain)
    {
        fd.Dispose();
        throw new ErrnoException(Errno.EOPNOTSUPP, $"{_device.Info.Driver} cannot import foreign buffers");
    }

    public IGpuChannel CreateChannel(string owner)
    {
        if (!_device.IsNouveau) ErrnoException.Throw(Errno.EOPNOTSUPP, $"{_device.Info.Driver} has no command submission through PvDrm");
        AddUser();
        try
        {
            var channel = NouveauChannel.Create(this);
            _device.OnChannelCreated();
            return channel;
        }
        catch
        {
            ReleaseUser();
            throw;
        }
    }

    /// <summary>Any ioctl on this file through the allowlist, for tests: 0 or the errno.</summary>
    internal int Ioctl(uint request, void* arg) => File.TryIoctl(request, arg);

    internal void OnBufferFreed(ulong size)
    {
        _device.OnBufferFreed(size);
        ReleaseUser();
    }

    internal void OnChannelClosed()
    {
        _device.OnChannelClosed();
        ReleaseUser();
    }

    private void AddUser()
    {
        int current;
        do
        {
            current = Volatile.Read(ref _users);
            if (current == 0 || Volatile.Read(ref _disposed) != 0 || _device.IsDisposed)
                ErrnoException.Throw(Errno.ENODEV, $"{_device.Name} ({File.Path}) is shut down for {(Owner.Length == 0 ? "the device" : Owner)}");
        }
        while (Interlocked.CompareExchange(ref _users, current + 1, current) != current);
    }

    private void ReleaseUser()
    {
        if (Interlocked.Decrement(ref _users) != 0) return;
        File.Dispose();
        if (_budget != null) _budget.Return(Owner);
        _device.OnFileClosed();
    }

    /// <summary>Refuses new objects; the file closes once the buffers and channels made in it are released.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ReleaseUser();
    }
}
