using System.Security.Cryptography;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host.Control;

namespace PvDrm.Host.Containers;

/// <summary>
/// Mints a share's credentials: a fresh random token, granted to the share's guest name by the
/// running host over its control socket (the host keeps it until it stops or the share is minted
/// again), and written with the name into the share's folder, which the container mounts read-only.
/// </summary>
internal static class ShareCredentials
{
    /// <summary>Grants a new token for <paramref name="share"/> and writes its files; returns the folder.</summary>
    public static async Task<string> MintAsync(Share share, string controlSocket, ContainerSettings settings)
    {
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var answer = await ControlClient.SendAsync(controlSocket,
            new ControlProtocol.Request("grant", share.Id, Key: share.Attach, Value: token), ControlProtocol.Silence);
        if (!answer.Ok) throw new InvalidOperationException($"the host refused share {share.Id}: {answer.Message}");
        // The folder of all shares is the host's alone; each share's folder is what one container sees.
        Directory.CreateDirectory(settings.CredentialsDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string folder = ContainerEdits.CredentialsFolder(share, settings);
        Directory.CreateDirectory(folder);
        Write(Path.Combine(folder, GuestCredentials.NameFile), share.Id);
        Write(Path.Combine(folder, GuestCredentials.TokenFile), token);
        return folder;
    }

    // Replaced whole (write, then rename), so a container never reads half a token. Readable by
    // the container's user, whoever it is: only the container that mounts the folder reaches it.
    private static void Write(string path, string text)
    {
        string temporary = path + ".new";
        File.WriteAllText(temporary, text + "\n");
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temporary, path, overwrite: true);
    }
}
