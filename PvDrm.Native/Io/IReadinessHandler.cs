namespace PvDrm.Native.Io;

/// <summary>Receives readiness from an <see cref="EventLoop"/>, on the loop's thread.</summary>
public interface IReadinessHandler
{
    /// <summary>
    /// Called with epoll event bits (edge-triggered). Must not block: drain what is ready,
    /// hand work on, return.
    /// </summary>
    void OnReady(uint events);
}
