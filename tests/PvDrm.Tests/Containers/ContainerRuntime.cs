using System.Diagnostics;
using System.Text;
using PvDrm.Native.Tests.Drm;

namespace PvDrm.Tests.Containers;

/// <summary>
/// Plays a container runtime applying a device's edits: a private mount namespace (unshare -m)
/// with a fresh /run, each mount bind-mounted at its container path (read-only where asked;
/// a missing folder outside /run appears through an overlay, so the real file system is never
/// written), and the environment set, then the command run inside. Needs root and unshare.
/// </summary>
internal static class ContainerRuntime
{
    /// <summary>Set to 1 (CI does, where unshare -m works) to make a missing mount namespace a failure instead of a skip.</summary>
    public const string Require = "PVDRM_REQUIRE_MOUNT_NAMESPACE";

    private static readonly Lazy<string?> s_gap = new(FindGap);

    public static string? Gap => s_gap.Value;

    public sealed record Mount(string HostPath, string ContainerPath, bool ReadOnly);

    /// <summary>Runs <paramref name="command"/> as a container with these edits would; returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<Mount> mounts, IEnumerable<string> env, IReadOnlyList<string> command, TimeSpan timeout)
    {
        NativeToolchain.Ensure(Gap, Require);
        var script = new StringBuilder("""
            set -e
            n=0
            ensure_dir() {
              [ -d "$1" ] && return 0
              p="$1"; while [ ! -d "$p" ]; do p=$(dirname "$p"); done
              case "$p" in /run|/run/*) mkdir -p "$1"; return 0;; esac
              n=$((n+1)); mkdir -p /run/.overlay/$n/upper /run/.overlay/$n/work
              mount -t overlay overlay -o "lowerdir=$p,upperdir=/run/.overlay/$n/upper,workdir=/run/.overlay/$n/work" "$p"
              mkdir -p "$1"
            }
            mount -t tmpfs pvdrm-test-run /run

            """);
        foreach (var m in mounts)
        {
            string target = Quote(m.ContainerPath);
            script.Append(Directory.Exists(m.HostPath)
                ? $"ensure_dir {target}\n"
                : $"ensure_dir {Quote(Path.GetDirectoryName(m.ContainerPath)!)}; [ -e {target} ] || touch {target}\n");
            script.Append($"mount --bind {Quote(m.HostPath)} {target}\n");
            if (m.ReadOnly) script.Append($"mount -o remount,bind,ro {target}\n");
        }
        script.Append("exec env");
        foreach (string e in env) script.Append(' ').Append(Quote(e));
        foreach (string c in command) script.Append(' ').Append(Quote(c));
        script.Append('\n');

        var info = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--mount", "--propagation", "private", "sh", "-c", script.ToString() }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The command that runs pvdrm-guest from the test's output folder, as a container image would hold it.</summary>
    public static string[] Guest(params string[] args)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "pvdrm-guest");
        return File.Exists(apphost) ? [apphost, .. args] : ["dotnet", Path.Combine(AppContext.BaseDirectory, "pvdrm-guest.dll"), .. args];
    }

    /// <summary>The preload shim built beside pvdrm-guest, which the edits mount.</summary>
    public static string Shim => Path.Combine(AppContext.BaseDirectory, "libpvdrm_shim.so");

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    private static string? FindGap()
    {
        if (!File.Exists(Shim)) return $"{Shim} was not built (gcc was missing when pvdrm-guest was built)";
        if (Tmds.Linux.LibC.geteuid() != 0) return "not root: bind mounts in a mount namespace need root";
        if (NativeToolchain.FindOnPath("unshare") is null) return "unshare is not on PATH (Debian package util-linux)";
        var probe = Process.Start(new ProcessStartInfo("unshare", ["--mount", "true"]) { RedirectStandardError = true })!;
        probe.WaitForExit();
        if (probe.ExitCode != 0) return $"unshare --mount fails here: {probe.StandardError.ReadToEnd().Trim()}";
        return null;
    }
}

/// <summary>A fact that applies container edits in a mount namespace: skipped, with the reason, where that is impossible (unless required).</summary>
public sealed class ContainerFactAttribute : FactAttribute
{
    public ContainerFactAttribute()
    {
        if (ContainerRuntime.Gap is { } gap && !NativeToolchain.Required(ContainerRuntime.Require))
            Skip = $"container edits not applied: {gap}. Run as root where unshare --mount works, or set {ContainerRuntime.Require}=1 to fail instead";
    }
}
