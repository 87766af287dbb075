namespace PvDrm.Native.Interop;

/// <summary>
/// Linux errno numbers as used on the wire (replies carry them negated). Kept as
/// <c>const</c> so they can be switch labels, unlike Tmds.LibC's properties.
/// </summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int ENOSPC = 28;
    public const int EPIPE = 32;
    public const int ENOBUFS = 105;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int EREMOTE = 66;
    public const int EPROTO = 71;
    public const int EMSGSIZE = 90;
    public const int EOPNOTSUPP = 95;
    public const int ECONNRESET = 104;
    public const int ESHUTDOWN = 108;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int ECANCELED = 125;

    /// <summary>One past the largest errno Linux defines (133, EHWPOISON): sizes per-errno tables.</summary>
    public const int Limit = 134;

    /// <summary>The symbolic name of an errno (positive or negated), e.g. "ENOENT".</summary>
    public static string Name(int errno) => Math.Abs(errno) switch
    {
        0 => "OK",
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EIO => "EIO",
        E2BIG => "E2BIG",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EXDEV => "EXDEV",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        EMFILE => "EMFILE",
        ENOTTY => "ENOTTY",
        ENOSPC => "ENOSPC",
        EPIPE => "EPIPE",
        ENOBUFS => "ENOBUFS",
        ERANGE => "ERANGE",
        ENOSYS => "ENOSYS",
        ELOOP => "ELOOP",
        EREMOTE => "EREMOTE",
        EPROTO => "EPROTO",
        EMSGSIZE => "EMSGSIZE",
        EOPNOTSUPP => "EOPNOTSUPP",
        ECONNRESET => "ECONNRESET",
        ESHUTDOWN => "ESHUTDOWN",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        ECANCELED => "ECANCELED",
        var n => $"E#{n}",
    };
}
