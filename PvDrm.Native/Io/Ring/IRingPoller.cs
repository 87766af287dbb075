namespace PvDrm.Native.Io.Ring;

/// <summary>
/// A ring an <see cref="EventLoop"/> reads: while the loop polls it takes frames without a
/// doorbell; before the loop sleeps it raises the ring's sleeping flag, so the peer rings.
/// Called on the loop thread only.
/// </summary>
public interface IRingPoller
{
    /// <summary>Takes what waits (the sleeping flag kept down); true if there was anything.</summary>
    bool Poll();

    /// <summary>Raises the sleeping flag; false (flag down again) when work arrived meanwhile.</summary>
    bool PrepareToSleep();
}
