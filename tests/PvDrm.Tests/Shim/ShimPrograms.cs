using System.Diagnostics;
using System.Text;
using PvDrm.Native.Tests.Drm;

namespace PvDrm.Tests.Shim;

/// <summary>
/// The C test programs in Shim/native, built once per run against Debian's libdrm-dev and
/// libdrm-nouveau2, and what they need: gcc, the headers, libdrm_nouveau, and the preload shim
/// built beside pvdrm-guest.
/// </summary>
internal static class ShimPrograms
{
    /// <summary>Set to 1 (CI does) to make a missing toolchain a failure instead of a skip.</summary>
    public const string Require = "PVDRM_REQUIRE_SHIM";

    private static readonly Lazy<string?> s_gap = new(FindGap);
    private static readonly Lazy<(string Core, string Nouveau)> s_built = new(Build);

    public static string SourceDir { get; } = Path.Combine(NativeToolchain.RepoRoot, "tests", "PvDrm.Tests", "Shim", "native");

    /// <summary>Why the shim tests cannot run here, or null.</summary>
    public static string? Gap => s_gap.Value;

    public static string Library => Path.Combine(AppContext.BaseDirectory, "libpvdrm_shim.so");

    public static string Core => Ready().Core;

    public static string Nouveau => Ready().Nouveau;

    private static (string Core, string Nouveau) Ready()
    {
        NativeToolchain.Ensure(Gap, Require);
        return s_built.Value;
    }

    private static (string, string) Build() => (
        NativeToolchain.CompileIn(SourceDir, "shim_core", ["shim_core.c"], ["libdrm", "libdrm_nouveau"]),
        NativeToolchain.CompileIn(SourceDir, "shim_nouveau", ["shim_nouveau.c"], ["libdrm", "libdrm_nouveau"], "m"));

    private static string? FindGap()
    {
        if (NativeToolchain.FindOnPath("gcc") is null) return "gcc is not on PATH (Debian package gcc)";
        if (!File.Exists(Library)) return $"{Library} was not built (gcc was missing when pvdrm-guest was built)";
        foreach (var header in new[] { "xf86drm.h", "nouveau/nouveau.h", "nouveau_drm.h" })
            if (!File.Exists(Path.Combine("/usr/include/libdrm", header)) && !File.Exists(Path.Combine("/usr/include", header)))
                return $"{header} is missing (Debian package libdrm-dev)";
        // gcc prints the bare name back when it cannot find the library.
        if (NativeToolchain.Run("gcc", "-print-file-name=libdrm_nouveau.so").Output.Trim() == "libdrm_nouveau.so")
            return "libdrm_nouveau.so is missing (Debian packages libdrm-nouveau2 and libdrm-dev)";
        return null;
    }
}

/// <summary>A fact that runs unmodified libdrm programs on the shim: skipped, with the reason, where the toolchain is missing (unless required).</summary>
public sealed class ShimFactAttribute : FactAttribute
{
    public ShimFactAttribute()
    {
        if (ShimPrograms.Gap is { } gap && !NativeToolchain.Required(ShimPrograms.Require))
            Skip = $"shim tests not run: {gap}. Install gcc, libdrm-dev and libdrm-nouveau2, or set {ShimPrograms.Require}=1 to fail instead";
    }
}

/// <summary>
/// A program run through <c>pvdrm-guest exec</c> (which becomes the program), with its output
/// collected line by line and its input open, so a test can make it wait for a "go" line.
/// </summary>
internal sealed class ShimProgram : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ShimProgram(Process process) => _process = process;

    public static ShimProgram Start(string shimSocket, string program, params string[] args)
    {
        string guest = Path.Combine(AppContext.BaseDirectory, "pvdrm-guest");
        var info = File.Exists(guest)
            ? new ProcessStartInfo(guest)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "pvdrm-guest.dll") } };
        foreach (var a in new[] { "exec", "--shim", $"unix:{shimSocket}", "--", program }.Concat(args)) info.ArgumentList.Add(a);
        info.RedirectStandardInput = info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.Environment["PVDRM_SHIM_DEBUG"] = "1"; // the proxy's reasons for each failed call, on stderr
        var p = new ShimProgram(new Process { StartInfo = info });
        p._process.OutputDataReceived += (_, e) => p.Append(e.Data);
        p._process.ErrorDataReceived += (_, e) => p.Append(e.Data);
        p._process.Start();
        p._process.BeginOutputReadLine();
        p._process.BeginErrorReadLine();
        return p;
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    private void Append(string? line)
    {
        if (line != null) lock (_output) _output.AppendLine(line);
    }

    /// <summary>Waits for a line containing <paramref name="text"/>; fails with the output if the program ends first.</summary>
    public async Task WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text))
        {
            if (_process.HasExited && !Output.Contains(text)) Assert.Fail($"the program exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"no '{text}' within {timeout.TotalSeconds:F0} s:\n{Output}");
            await Task.Delay(20);
        }
    }

    public void Go() => _process.StandardInput.WriteLine("go");

    /// <summary>Waits for the exit and returns the code; the timeout only guards against a hang, which is a failure.</summary>
    public async Task<int> ExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the program did not finish within {timeout.TotalSeconds:F0} s (a hang):\n{Output}");
        }
        _process.WaitForExit(); // flushes the output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
