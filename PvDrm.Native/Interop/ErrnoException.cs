using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace PvDrm.Native.Interop;

/// <summary>
/// A failure with a Linux errno and a message a person can act on. Devices, sockets and the
/// dispatcher all speak it, so a failure deep in a device becomes a reply status unchanged.
/// </summary>
public class ErrnoException : Exception
{
    public ErrnoException(int errno, string message) : base(message)
    {
        Errno = Math.Abs(errno);
    }

    /// <summary>The positive errno.</summary>
    public int Errno { get; }

    public override string ToString() => $"{Interop.Errno.Name(Errno)}: {Message}";

    [DoesNotReturn]
    public static void Throw(int errno, string message) => throw new ErrnoException(errno, message);

    /// <summary>Throws for a failed libc call; <paramref name="errno"/> must be read right after it.</summary>
    [DoesNotReturn]
    public static void ThrowLibc(string call, int errno) =>
        throw new ErrnoException(errno, $"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
}
