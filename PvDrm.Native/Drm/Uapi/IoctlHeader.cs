namespace PvDrm.Native.Drm.Uapi;

/// <summary>
/// asm-generic/ioctl.h: how an ioctl number packs direction, type, command number and argument
/// size (the generic layout, used by x86-64 and arm64). Every DRM ioctl number in PvDrm is
/// derived here from its argument struct's size, as the kernel's _IOWR macros do, so a struct
/// that changes size changes its number too instead of silently talking past the kernel.
/// </summary>
public static unsafe class IoctlHeader
{
    public const int _IOC_NRBITS = 8;
    public const int _IOC_TYPEBITS = 8;
    public const int _IOC_SIZEBITS = 14;
    public const int _IOC_DIRBITS = 2;

    public const int _IOC_NRSHIFT = 0;
    public const int _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS;
    public const int _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS;
    public const int _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS;

    public const uint _IOC_NONE = 0;
    public const uint _IOC_WRITE = 1;
    public const uint _IOC_READ = 2;

    public static uint _IOC(uint dir, uint type, uint nr, uint size)
    {
        // The kernel's _IOC_TYPECHECK refuses at compile time what this refuses at start-up.
        if (dir >= 1u << _IOC_DIRBITS || type >= 1u << _IOC_TYPEBITS || nr >= 1u << _IOC_NRBITS || size >= 1u << _IOC_SIZEBITS)
            throw new ArgumentOutOfRangeException(nameof(size), $"_IOC({dir}, {type}, {nr}, {size}) does not fit an ioctl number");
        return dir << _IOC_DIRSHIFT | type << _IOC_TYPESHIFT | nr << _IOC_NRSHIFT | size << _IOC_SIZESHIFT;
    }

    public static uint _IO(uint type, uint nr) => _IOC(_IOC_NONE, type, nr, 0);

    public static uint _IOR<T>(uint type, uint nr) where T : unmanaged => _IOC(_IOC_READ, type, nr, (uint)sizeof(T));

    public static uint _IOW<T>(uint type, uint nr) where T : unmanaged => _IOC(_IOC_WRITE, type, nr, (uint)sizeof(T));

    public static uint _IOWR<T>(uint type, uint nr) where T : unmanaged => _IOC(_IOC_READ | _IOC_WRITE, type, nr, (uint)sizeof(T));

    public static uint _IOC_DIR(uint number) => number >> _IOC_DIRSHIFT & ((1u << _IOC_DIRBITS) - 1);

    public static uint _IOC_TYPE(uint number) => number >> _IOC_TYPESHIFT & ((1u << _IOC_TYPEBITS) - 1);

    public static uint _IOC_NR(uint number) => number >> _IOC_NRSHIFT & ((1u << _IOC_NRBITS) - 1);

    public static uint _IOC_SIZE(uint number) => number >> _IOC_SIZESHIFT & ((1u << _IOC_SIZEBITS) - 1);
}
