using System.Text;
using PvDrm.Native.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Drm;

/// <summary>
/// An open DRM node and the one door to its ioctls. Every call passes the allowlist first, so an
/// ioctl PvDrm does not issue for this driver never reaches the kernel; calls interrupted by a
/// signal are retried, as libdrm's drmIoctl does.
/// </summary>
internal sealed unsafe class DrmFile : IDisposable
{
    private readonly FileDescriptor _fd;
    private volatile DrmAllowlist _allowlist;

    private DrmFile(FileDescriptor fd, string path, DrmAllowlist allowlist)
    {
        _fd = fd;
        Path = path;
        _allowlist = allowlist;
    }

    public string Path { get; }

    /// <summary>The ioctls this file may issue; narrowed to the driver's set once DRM_IOCTL_VERSION has named it.</summary>
    public DrmAllowlist Allowlist
    {
        get => _allowlist;
        set => _allowlist = value;
    }

    /// <summary>The device descriptor, for mmap at the fake offsets the driver hands out.</summary>
    public FileDescriptor Descriptor => _fd;

    /// <summary>Opens <paramref name="path"/> read/write, close-on-exec, allowing only <paramref name="allowlist"/>.</summary>
    public static DrmFile Open(string path, DrmAllowlist allowlist)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd, error;
        fixed (byte* p = bytes)
        {
            do
            {
                fd = open(p, O_RDWR | O_CLOEXEC, 0);
                error = fd < 0 ? errno : 0;
            }
            while (fd < 0 && error == Errno.EINTR);
        }
        if (fd < 0) ErrnoException.ThrowLibc($"open({path})", error);
        return new DrmFile(new FileDescriptor(fd), path, allowlist);
    }

    /// <summary>
    /// Issues an allowed ioctl and returns 0 or the positive errno it failed with. Throws
    /// EOPNOTSUPP, without a system call, for one outside the allowlist.
    /// </summary>
    public int TryIoctl(uint request, void* arg)
    {
        var allowlist = _allowlist;
        if (!allowlist.Allows(request))
            ErrnoException.Throw(Errno.EOPNOTSUPP,
                $"{DrmIoctlNames.Of(request)} is not allowed on {allowlist.Driver} device {Path}: PvDrm only issues {allowlist.Describe()}");

        bool added = false;
        try
        {
            if (_fd.IsClosed) ErrnoException.Throw(Errno.ENODEV, $"{allowlist.Driver} device {Path} is closed");
            _fd.DangerousAddRef(ref added);
            int rc, error;
            do
            {
                rc = ioctl(_fd.Number, unchecked((int)request), arg);
                error = rc < 0 ? errno : 0;
            }
            while (rc < 0 && (error == Errno.EINTR || error == Errno.EAGAIN));
            return error;
        }
        finally
        {
            if (added) _fd.DangerousRelease();
        }
    }

    /// <summary>Like <see cref="TryIoctl"/>, but a failure throws with the ioctl, driver and node named.</summary>
    public void Ioctl(uint request, void* arg, string? what = null)
    {
        int error = TryIoctl(request, arg);
        if (error != 0) ThrowFailed(request, error, what);
    }

    /// <summary>The exception for a failed ioctl: errno unchanged, message naming call, object, driver and node.</summary>
    public ErrnoException Failure(uint request, int error, string? what = null) =>
        new(error, $"{DrmIoctlNames.Of(request)}{(what is null ? "" : $" ({what})")} failed on {_allowlist.Driver} device {Path}: " +
                   $"{Errno.Name(error)} ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(error)})");

    private void ThrowFailed(uint request, int error, string? what) => throw Failure(request, error, what);

    /// <summary>Maps <paramref name="length"/> bytes of the device at a driver-provided fake offset, shared and read/write.</summary>
    public DrmMapping Map(ulong offset, ulong length) => DrmMapping.Map(_fd, offset, length);

    public void Dispose() => _fd.Dispose();
}
