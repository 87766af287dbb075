using System.Diagnostics;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// What the native DRM tests need from the machine (gcc, libdrm-dev, for the fake also
/// libfuse3-dev, fuse3 and a usable /dev/fuse), checked once per run, and compiling their C
/// sources from tests/PvDrm.Native.Tests/Drm/native into a per-run temporary directory.
/// </summary>
internal static class NativeToolchain
{
    /// <summary>Set to 1 (CI does) to make a missing toolchain a failure instead of a skip.</summary>
    public const string RequireLayoutProbe = "PVDRM_REQUIRE_LAYOUT_PROBE";
    public const string RequireFakeDrm = "PVDRM_REQUIRE_FAKE_DRM";

    private static readonly string[] DrmHeaders = ["drm.h", "drm_mode.h", "nouveau_drm.h"];
    private static readonly Lazy<string?> s_layoutMissing = new(FindLayoutProbeGap);
    private static readonly Lazy<string?> s_fakeMissing = new(() => s_layoutMissing.Value ?? FindFakeDrmGap());
    private static readonly Lazy<string> s_workDir = new(CreateWorkDir);

    /// <summary>Why the layout probe cannot run here, or null.</summary>
    public static string? LayoutProbeGap => s_layoutMissing.Value;

    /// <summary>Why the fake device cannot run here, or null.</summary>
    public static string? FakeDrmGap => s_fakeMissing.Value;

    public static bool Required(string variable) => Environment.GetEnvironmentVariable(variable) == "1";

    /// <summary>Fails the test with the reason when the tools are missing (reached only when the variable requires them).</summary>
    public static void Ensure(string? gap, string variable)
    {
        if (gap is not null) Assert.Fail($"{gap}. Install the Debian packages .ci/run installs; {variable}=1 is set, so this fails instead of skipping");
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SourceDir { get; } = Path.Combine(RepoRoot, "tests", "PvDrm.Native.Tests", "Drm", "native");

    /// <summary>Compiles <paramref name="sources"/> (in <see cref="SourceDir"/>) into an executable, with pkg-config flags for <paramref name="packages"/>.</summary>
    public static string Compile(string name, string[] sources, params string[] packages) => CompileIn(SourceDir, name, sources, packages);

    /// <summary>Compiles C sources from <paramref name="sourceDir"/>, linking <paramref name="libraries"/> (such as "m") after the packages' flags.</summary>
    public static string CompileIn(string sourceDir, string name, string[] sources, string[] packages, params string[] libraries)
    {
        string output = Path.Combine(s_workDir.Value, name);
        var args = new List<string> { "-Wall", "-Wextra", "-Werror", "-O1", "-I", sourceDir, "-o", output };
        args.AddRange(sources.Select(s => Path.Combine(sourceDir, s)));
        args.AddRange(Flags("--cflags", packages).Concat(Flags("--libs", packages)));
        args.AddRange(libraries.Select(l => $"-l{l}"));
        var (code, text) = Run("gcc", args.ToArray());
        if (code != 0) Assert.Fail($"gcc {string.Join(' ', args)} failed ({code}):\n{text}");
        return output;
    }

    /// <summary>Runs a program to completion and returns its exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    // pkg-config when present; otherwise Debian's locations, so a missing .pc file is not a skip.
    private static IEnumerable<string> Flags(string kind, string[] packages)
    {
        if (FindOnPath("pkg-config") is not null)
        {
            var (code, text) = Run("pkg-config", [kind, .. packages]);
            if (code == 0) return text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        return packages.SelectMany(p => (kind, p) switch
        {
            ("--cflags", "libdrm") => ["-I/usr/include/libdrm"],
            ("--libs", "libdrm") => ["-ldrm"],
            ("--cflags", "libdrm_nouveau") => ["-I/usr/include/libdrm", "-I/usr/include/libdrm/nouveau"],
            ("--libs", "libdrm_nouveau") => ["-ldrm_nouveau"],
            ("--cflags", "fuse3") => ["-I/usr/include/fuse3"],
            ("--libs", "fuse3") => ["-lfuse3", "-lpthread"],
            _ => Array.Empty<string>(),
        });
    }

    private static string? FindLayoutProbeGap()
    {
        if (FindOnPath("gcc") is null) return "gcc is not on PATH (Debian package gcc)";
        var missing = DrmHeaders.Where(h => !File.Exists(Path.Combine("/usr/include/libdrm", h))).ToList();
        return missing.Count > 0 ? $"/usr/include/libdrm lacks {string.Join(", ", missing)} (Debian package libdrm-dev)" : null;
    }

    private static unsafe string? FindFakeDrmGap()
    {
        if (!File.Exists("/usr/include/fuse3/fuse.h")) return "/usr/include/fuse3/fuse.h is missing (Debian package libfuse3-dev)";
        if (FindOnPath("fusermount3") is null) return "fusermount3 is not on PATH (Debian package fuse3)";
        if (!File.Exists("/dev/fuse")) return "/dev/fuse does not exist (no FUSE in this kernel or container)";
        int fd;
        fixed (byte* path = "/dev/fuse\0"u8) fd = open(path, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) return $"/dev/fuse cannot be opened (errno {errno}): FUSE is not usable here";
        close(fd);
        return null;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PvDrm.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no PvDrm.sln above {AppContext.BaseDirectory}");
    }

    private static string CreateWorkDir()
    {
        string dir = Directory.CreateTempSubdirectory("pvdrm-native-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { } // a mount point still busy: left for the OS's temp cleanup
        };
        return dir;
    }
}

/// <summary>A fact that needs gcc and libdrm-dev: skipped, with the reason, where they are missing (unless required).</summary>
public sealed class LayoutProbeFactAttribute : FactAttribute
{
    public LayoutProbeFactAttribute()
    {
        if (NativeToolchain.LayoutProbeGap is { } gap && !NativeToolchain.Required(NativeToolchain.RequireLayoutProbe))
            Skip = $"layout probe not run: {gap}. Install gcc and libdrm-dev, or set {NativeToolchain.RequireLayoutProbe}=1 to fail instead";
    }
}

/// <summary>A fact that needs the FUSE fake device: skipped, with the reason, where gcc, headers or FUSE are missing (unless required).</summary>
public sealed class FakeDrmFactAttribute : FactAttribute
{
    public FakeDrmFactAttribute()
    {
        if (NativeToolchain.FakeDrmGap is { } gap && !NativeToolchain.Required(NativeToolchain.RequireFakeDrm))
            Skip = $"fake DRM device not run: {gap}. Install gcc, libdrm-dev, libfuse3-dev and fuse3, or set {NativeToolchain.RequireFakeDrm}=1 to fail instead";
    }
}
