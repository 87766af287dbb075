using PvDrm.Actors.Guest;

namespace PvDrm.Host.Containers;

/// <summary>
/// What a container needs to be a PvDrm guest on a share, in one place for both the CDI spec and
/// the device plugin's Allocate answer: the host's socket where pvdrm-guest looks by default, the
/// preload shim read-only, the share's credentials folder read-only (name and token as files),
/// and the environment that points at them.
/// </summary>
internal sealed record ContainerEdits(IReadOnlyList<ContainerEdits.Mount> Mounts, IReadOnlyList<KeyValuePair<string, string>> Env)
{
    /// <summary>The socket pvdrm-guest run connects to by default, and where the host's socket appears.</summary>
    public const string GuestSocket = "/run/pvdrm/guest.sock";

    /// <summary>Where the preload shim appears in the container.</summary>
    public const string ShimPath = "/usr/lib/pvdrm/libpvdrm_shim.so";

    /// <summary>Where a proxy in the container serves the shim (pvdrm-guest serve --shim), for unmodified libdrm programs.</summary>
    public const string ShimSocket = "/run/pvdrm/shim.sock";

    /// <summary>The render node the shim makes programs see.</summary>
    public const string RenderNode = "/dev/dri/renderD128";

    public sealed record Mount(string HostPath, string ContainerPath, bool ReadOnly);

    /// <summary>The edits of <paramref name="share"/> on a host listening at <paramref name="hostSocket"/>.</summary>
    public static ContainerEdits For(Share share, string hostSocket, ContainerSettings settings) => new(
        [
            new Mount(hostSocket, GuestSocket, ReadOnly: false),
            new Mount(settings.Shim, ShimPath, ReadOnly: true),
            new Mount(CredentialsFolder(share, settings), GuestCredentials.ContainerPath, ReadOnly: true),
        ],
        [
            new(GuestCredentials.Variable, GuestCredentials.ContainerPath),
            new("LD_PRELOAD", ShimPath),
            new("PVDRM_PROXY_SOCKET", $"unix:{ShimSocket}"),
            new("PVDRM_RENDER_NODE", RenderNode),
        ]);

    /// <summary>The host folder of a share's name and token files.</summary>
    public static string CredentialsFolder(Share share, ContainerSettings settings) => Path.Combine(settings.CredentialsDir, share.Id);
}
