using PvDrm.Protocol;
using PvDrm.Native.Io;

namespace PvDrm.Actors.Host.Registry;

/// <summary>Between the connection side and the guest registry: a connection's way to admission.</summary>
public static class AdmissionProtocol
{
    /// <summary>A new connection to serve (from the listener, or from a test over a socketpair).</summary>
    public sealed record Accept(Connection Connection)
    {
        /// <summary>The listener already took the connection's place among the unadmitted.</summary>
        internal bool Counted { get; init; }
    }

    /// <summary>A connection said HELLO; the registry admits or refuses it.</summary>
    internal sealed record Admit(Requests.Hello Hello, GuestLink Link);

    /// <summary>A connection closed before it was admitted (refused, timed out, or the peer left).</summary>
    internal sealed record ClosedBeforeAdmission(GuestLink Link);

    /// <summary>The connection's time to say HELLO is up (<see cref="AdmissionSettings.HelloTimeout"/>).</summary>
    internal sealed record HelloDeadline(GuestLink Link);
}
