using PvDrm.Native.Interop;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The host answered, and sent the guest to a node that cannot be reached: in a pool, a node
/// that was lost and whose guests are not moved yet. The host will answer differently once the
/// pool moves the guest (CLUSTER.md, "Failover time"), so the proxy asks again promptly.
/// </summary>
public sealed class RedirectUnreachableException(int errno, string message) : ErrnoException(errno, message);
