using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using PvDrm.Protocol;
using PvDrm.Native.Drm;
using PvDrm.Native.Drm.Uapi;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;
using static PvDrm.Protocol.Requests;
using static PvDrm.Native.Drm.Uapi.DrmHeader;
using static PvDrm.Native.Drm.Uapi.IoctlHeader;

namespace PvDrm.Actors.Guest.Shim;

/// <summary>
/// Translates one DRM file's raw ioctls (number and argument bytes, as the program passed them)
/// into PvDrm protocol requests for the file's context, and the answers back into the structs
/// the kernel would have written. Like the kernel, it matches ioctls by command number (libdrm
/// builds numbers with its own directions) and zero-extends or cuts arguments to the struct's
/// size. The file chooses handles and channel ids the way the kernel does; its
/// <see cref="AppContext"/> maps them to host ids. Everything the program sends is checked here
/// or by the host: nothing in it is trusted. DRM core calls are in this file, nouveau's in
/// ShimNouveauCalls.cs.
/// </summary>
internal sealed partial class ShimCalls(ShimUnknownIoctls unknown)
{
    /// <summary>The file's one context id, as its <see cref="AppContext"/> knows it.</summary>
    public const uint ContextId = 1;

    private const uint DrmPrimeFlags = DRM_CLOEXEC | DRM_RDWR;

    private readonly Dictionary<(ulong Device, ulong Inode), uint> _primeHandles = new();
    private uint _lastHandle, _lastChannel;

    /// <summary>Device memory, for PUSHBUF's vram_available and gart_available (libdrm sizes its batches by them).</summary>
    public ulong VramSize { get; set; }

    public ulong GartSize { get; set; }

    /// <summary>Translates <paramref name="r"/>; <paramref name="fd"/> (PRIME import) is consumed either way.</summary>
    public ShimStep Translate(ShimRequest r, FileDescriptor? fd)
    {
        if (r.Kind == ShimKind.Map)
        {
            fd?.Dispose();
            return Map(r);
        }
        uint nr = _IOC_NR(r.Number);
        if (_IOC_TYPE(r.Number) != DRM_IOCTL_BASE) return Unknown(r, fd);
        if (nr == 0x2e) return PrimeFdToHandle(r, fd);
        fd?.Dispose();
        if (r.Blobs.Length > 0 && nr != DRM_COMMAND_BASE + NouveauDrm.DRM_NOUVEAU_GEM_PUSHBUF)
            return Refuse(Errno.EINVAL, $"{DrmIoctlNames.Of(r.Number)} takes no arrays, but {r.Blobs.Length} came with it");
        return nr switch
        {
            0x00 => Version(),
            0x09 => GemClose(Arg<drm_gem_close>(r)),
            0x0a => Flink(Arg<drm_gem_flink>(r)),
            0x0b => GemOpen(Arg<drm_gem_open>(r)),
            0x0c => GetCap(Arg<drm_get_cap>(r)),
            0x2d => PrimeHandleToFd(Arg<drm_prime_handle>(r)),
            >= DRM_COMMAND_BASE and < DRM_COMMAND_END => Nouveau(r, nr - DRM_COMMAND_BASE) ?? Unknown(r, null),
            _ => Unknown(r, null),
        };
    }

    // ---- DRM core ------------------------------------------------------------------------

    private static ShimStep Version() => new Ask(new GetVersion(), ToHost: true, a =>
    {
        var v = a.Read<Replies.Version>();
        byte[][] strings = [Encoding.UTF8.GetBytes(v.Name), Encoding.UTF8.GetBytes(v.Date), Encoding.UTF8.GetBytes(v.Description)];
        // The kernel sets each *_len to the full length and copies what fits; the shim copies
        // each string into the program's buffer, at most the length the program gave.
        var reply = new drm_version
        {
            version_major = v.Major, version_minor = v.Minor, version_patchlevel = v.Patch,
            name_len = (nuint)strings[0].Length, date_len = (nuint)strings[1].Length, desc_len = (nuint)strings[2].Length,
        };
        return new ShimReply(0, Bytes(reply), strings, null);
    });

    private ShimStep GemClose(drm_gem_close c) => new Ask(new Requests.GemClose(c.handle), false, a =>
    {
        if (a.Status == 0)
        {
            ForgetPrime(c.handle);
            _tiling.Remove(c.handle);
        }
        // The kernel answers EINVAL for a handle it does not have.
        return a.Status == -Errno.ENOENT ? ShimReply.Fail(Errno.EINVAL, a.Message ?? "") : Plain(a, c);
    });

    private static ShimStep Flink(drm_gem_flink f) => new Ask(new GemExport(f.handle), false, a =>
        a.Status != 0 ? Plain(a, f) : ShimReply.Ok(Bytes(f with { name = a.Read<Replies.Name>().Number })));

    private ShimStep GemOpen(drm_gem_open o)
    {
        uint handle = NextHandle();
        return new Ask(new GemImport(o.name, handle), false, a =>
        {
            if (a.Status != 0) return Plain(a, o);
            var info = a.Read<Replies.GemInfo>();
            return ShimReply.Ok(Bytes(o with { handle = info.Handle, size = info.Size }));
        });
    }

    private static ShimStep GetCap(drm_get_cap c) => new Ask(new Requests.GetCap(c.capability), ToHost: true, a =>
        a.Status != 0 ? Plain(a, c) : ShimReply.Ok(Bytes(c with { value = a.Read<Replies.Value>().Data })));

    private ShimStep PrimeHandleToFd(drm_prime_handle p)
    {
        if ((p.flags & ~DrmPrimeFlags) != 0)
            return Refuse(Errno.EINVAL, $"PRIME_HANDLE_TO_FD: flags 0x{p.flags:x} (only DRM_CLOEXEC and DRM_RDWR exist)");
        return new Ask(new PrimeExport(p.handle), false, a =>
        {
            if (a.Status != 0 || a.Fd is not { } fd) return Plain(a, p);
            _primeHandles[MemFd.Identity(fd)] = p.handle; // importing it again gives this handle, as DRM does
            return ShimReply.Ok(Bytes(p with { fd = -1 }), fd); // the shim puts its own number in
        });
    }

    private ShimStep PrimeFdToHandle(ShimRequest r, FileDescriptor? fd)
    {
        var p = Arg<drm_prime_handle>(r);
        if (fd == null) return Refuse(Errno.EBADF, "PRIME_FD_TO_HANDLE: no descriptor came with the call");
        (ulong, ulong) identity;
        try
        {
            identity = MemFd.Identity(fd);
        }
        catch (ErrnoException e)
        {
            fd.Dispose();
            return Refuse(e.Errno, $"PRIME_FD_TO_HANDLE: {e.Message}");
        }
        if (_primeHandles.TryGetValue(identity, out uint known))
        {
            fd.Dispose();
            return new Answered(ShimReply.Ok(Bytes(p with { handle = known })));
        }
        uint handle = NextHandle();
        return new Ask(new PrimeImport(handle) { Fd = fd }, false, a =>
        {
            fd.Dispose(); // sent: the host has its own copy now
            if (a.Status != 0) return Plain(a, p);
            _primeHandles[identity] = handle;
            return ShimReply.Ok(Bytes(p with { handle = handle }));
        });
    }

    // ---- mmap ----------------------------------------------------------------------------

    /// <summary>
    /// mmap of the DRM file at a GEM map offset (handle &lt;&lt; 32): answered with the buffer's own
    /// descriptor and the offset within it, so the program maps the very pages the device uses;
    /// for a buffer in the VM's shared region, the <see cref="AppContext"/> passes the region's
    /// BAR file (checked there) and the buffer begins at its region_offset.
    /// </summary>
    private ShimStep Map(ShimRequest r)
    {
        if (r.Arg.Length != 16 || r.Blobs.Length != 0) return Refuse(Errno.EINVAL, $"mmap: a {r.Arg.Length}-byte request (16 expected)");
        ulong offset = BitConverter.ToUInt64(r.Arg, 0), length = BitConverter.ToUInt64(r.Arg, 8);
        uint handle = (uint)(offset >> 32);
        ulong within = offset & 0xFFFF_FFFF;
        if (handle == 0 || length == 0 || within % 4096 != 0)
            return Refuse(Errno.EINVAL, $"mmap: offset 0x{offset:x} and length {length} do not name pages of a GEM object");
        return new Ask(new GemMap(handle), false, a =>
        {
            if (a.Status != 0) return Plain(a, 0UL);
            var map = a.Read<Replies.GemMap>();
            ulong size = map.Size, pages = (length + 4095) & ~4095UL;
            if (a.Fd is not { } fd) return ShimReply.Fail(Errno.EOPNOTSUPP, "mmap: the host passed no descriptor for this buffer");
            if (pages > size || within > size - pages)
            {
                fd.Dispose();
                return ShimReply.Fail(Errno.EINVAL, $"mmap: {length} bytes at {within} run past the end of GEM object {handle} ({size} bytes)");
            }
            ulong start = map.RegionOffset == Replies.GemMap.NoRegion ? 0 : map.RegionOffset;
            return ShimReply.Ok(BitConverter.GetBytes(start + within), fd);
        });
    }

    // ---- helpers -------------------------------------------------------------------------

    private ShimStep Unknown(ShimRequest r, FileDescriptor? fd)
    {
        fd?.Dispose();
        unknown.Report(r.Number);
        return Refuse(Errno.EINVAL, $"{DrmIoctlNames.Of(r.Number)} is outside PvDrm's DRM boundary (DRM core GEM and PRIME, nouveau ABI16)");
    }

    private uint NextHandle() => ++_lastHandle == 0 ? ++_lastHandle : _lastHandle;

    private uint NextChannel() => ++_lastChannel == 0 ? ++_lastChannel : _lastChannel;

    private void ForgetPrime(uint handle)
    {
        foreach (var (identity, h) in _primeHandles)
            if (h == handle) _primeHandles.Remove(identity);
    }

    private static Answered Refuse(int errno, string message) => new(ShimReply.Fail(errno, message));

    /// <summary>The host's failure as is, or success with <paramref name="arg"/> unchanged.</summary>
    private static ShimReply Plain<T>(ShimProtocol.Answer a, in T arg) where T : unmanaged
    {
        a.Fd?.Dispose();
        return a.Status == 0 ? ShimReply.Ok(Bytes(arg)) : new ShimReply(a.Status, [], [], a.Message);
    }

    /// <summary>The argument as the kernel copies it in: cut or zero-extended to the struct's size.</summary>
    internal static T Arg<T>(ShimRequest r) where T : unmanaged
    {
        Span<byte> buffer = stackalloc byte[Unsafe.SizeOf<T>()];
        buffer.Clear();
        r.Arg.AsSpan(0, Math.Min(r.Arg.Length, buffer.Length)).CopyTo(buffer);
        return MemoryMarshal.Read<T>(buffer);
    }

    internal static byte[] Bytes<T>(in T value) where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
}
