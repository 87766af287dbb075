using PvDrm.Client;
using PvDrm.Native.Gpu;

namespace PvDrm.Tests.Support;

/// <summary>Small pushbufs the tests submit.</summary>
internal static class Commands
{
    /// <summary>Waits on the semaphore word at offset 0 of <paramref name="semaphore"/>, then fills <paramref name="target"/>.</summary>
    public static PushbufBuilder AcquireThenFill(GemObject semaphore, uint value, GemObject target, uint pattern)
    {
        var p = new PushbufBuilder();
        uint s = p.Use(semaphore, BufferAccess.Read), t = p.Use(target, BufferAccess.Write);
        p.Commands.SemaphoreAcquire(s, 0, value);
        p.Commands.Fill(t, 0, target.Size, pattern);
        return p;
    }

    public static PushbufBuilder Release(GemObject semaphore, uint value)
    {
        var p = new PushbufBuilder();
        p.Commands.SemaphoreRelease(p.Use(semaphore, BufferAccess.Write), 0, value);
        return p;
    }

    public static PushbufBuilder Fill(GemObject target, uint pattern)
    {
        var p = new PushbufBuilder();
        p.Commands.Fill(p.Use(target, BufferAccess.Write), 0, target.Size, pattern);
        return p;
    }
}
