using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Io.Ring;

/// <summary>
/// futex(2) on a word in shared memory (not FUTEX_PRIVATE: the word lives in a memfd both
/// processes map, and the kernel matches waiters by the file page). The reply doorbell.
/// </summary>
internal static unsafe class Futex
{
    private const int FUTEX_WAIT = 0, FUTEX_WAKE = 1;

    private static readonly long s_sysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        var other => throw new PlatformNotSupportedException($"futex syscall number unknown on {other}"),
    };

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Syscall(long number, int* address, int op, int value, void* timeout, void* address2, int value3);

    /// <summary>Sleeps while *<paramref name="word"/> == <paramref name="expected"/> (returns at once otherwise, or on a wake or signal).</summary>
    public static void Wait(int* word, int expected)
    {
        if (Syscall(s_sysFutex, word, FUTEX_WAIT, expected, null, null, 0) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != EAGAIN && err != EINTR) Interop.ErrnoException.ThrowLibc("futex(FUTEX_WAIT)", err);
        }
    }

    /// <summary>As <see cref="Wait(int*, int)"/>, but returns after <paramref name="timeoutNs"/> at the latest.</summary>
    public static void Wait(int* word, int expected, long timeoutNs)
    {
        var timeout = new Tmds.Linux.timespec { tv_sec = (Tmds.Linux.time_t)(timeoutNs / 1_000_000_000), tv_nsec = (Tmds.Linux.long_t)(timeoutNs % 1_000_000_000) };
        if (Syscall(s_sysFutex, word, FUTEX_WAIT, expected, &timeout, null, 0) < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != EAGAIN && err != EINTR && err != ETIMEDOUT) Interop.ErrnoException.ThrowLibc("futex(FUTEX_WAIT)", err);
        }
    }

    /// <summary>Wakes every waiter on <paramref name="word"/>.</summary>
    public static void WakeAll(int* word) => Syscall(s_sysFutex, word, FUTEX_WAKE, int.MaxValue, null, null, 0);
}
