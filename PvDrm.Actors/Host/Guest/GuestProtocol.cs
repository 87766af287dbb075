using PvDrm.Actors.Host.Registry;

namespace PvDrm.Actors.Host.Guest;

/// <summary>What the registry and the guest's link tell a guest's actor: departure and its device.</summary>
internal static class GuestProtocol
{
    /// <summary>The guest's connection is gone; its actor stops and releases everything.</summary>
    internal sealed record LinkClosed(string Reason);

    /// <summary>The operator removes the guest: it is told why, disconnected, and everything it held released.</summary>
    internal sealed record Evict(string Reason);

    /// <summary>
    /// The operator gives the guest <paramref name="Device"/> (null: takes its device away). The
    /// guest's actor closes the contexts of the previous device first, then answers the sender
    /// with a <see cref="Control.ControlProtocol.Response"/>.
    /// </summary>
    /// <param name="Redirect">With no device here: the pool node whose device the guest has.</param>
    internal sealed record Attach(Native.Gpu.IGpuDevice? Device, string Reason, GuestRedirect? Redirect = null);
}
