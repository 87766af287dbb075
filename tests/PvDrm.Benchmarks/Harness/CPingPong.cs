using System.Diagnostics;
using System.Globalization;

namespace PvDrm.Benchmarks.Harness;

/// <summary>
/// The physical limits PvDrm's round trips are held against: the C ping-pongs of Limits/*.c,
/// compiled with gcc (or $CC) into the run's temp folder, each block one run of the program
/// (its own warm-up inside). Without a compiler, <see cref="WhyNot"/> says so and the paths are null.
/// </summary>
public sealed class CPingPong
{
    /// <summary>Round trips averaged per shared-memory sample: one alone is shorter than a clock read.</summary>
    public const int ShmBatch = 20;

    private readonly string? _seqpacket, _shm;

    private CPingPong(string? seqpacket, string? shm, string? whyNot)
    {
        (_seqpacket, _shm, WhyNot) = (seqpacket, shm, whyNot);
    }

    /// <summary>Null when the programs were built; otherwise why not (no gcc, a compile error).</summary>
    public string? WhyNot { get; }

    /// <summary>32-byte SOCK_SEQPACKET ping-pong, blocking recv: each round trip wakes both processes.</summary>
    public BlockPath SeqpacketBlock => n => RunAsync(_seqpacket!, "block", $"{n}");

    /// <summary>The same pair with recv(MSG_DONTWAIT) in a busy loop: no sleep, no wake-up.</summary>
    public BlockPath SeqpacketPoll => n => RunAsync(_seqpacket!, "poll", $"{n}");

    /// <summary>One cache line bounced between two processes in shared memory (each sample: the mean of <see cref="ShmBatch"/>).</summary>
    public BlockPath ShmSpin => n => RunAsync(_shm!, $"{n}", $"{ShmBatch}");

    /// <summary>Compiles the programs into <paramref name="dir"/>.</summary>
    public static async Task<CPingPong> BuildAsync(string dir, CancellationToken ct)
    {
        var (cc, whyNot) = FindCompiler();
        if (cc == null) return new CPingPong(null, null, whyNot);
        string sources = Path.Combine(AppContext.BaseDirectory, "Limits");
        string seqpacket = Path.Combine(dir, "seqpacket_pingpong"), shm = Path.Combine(dir, "shm_pingpong");
        foreach (var (source, output) in new[] { ("seqpacket_pingpong.c", seqpacket), ("shm_pingpong.c", shm) })
        {
            var (code, _, stderr) = await ExecAsync(cc, ["-O2", "-o", output, Path.Combine(sources, source)], ct);
            if (code != 0) return new CPingPong(null, null, $"{cc} could not compile {source} (exit {code}): {stderr.Trim()}");
        }
        return new CPingPong(seqpacket, shm, null);
    }

    private static (string? Compiler, string? WhyNot) FindCompiler()
    {
        if (Environment.GetEnvironmentVariable("CC") is { Length: > 0 } cc)
            return File.Exists(cc) || OnPath(cc) != null ? (cc, null) : (null, $"no C compiler: $CC ({cc}) was not found");
        return OnPath("gcc") is { } gcc ? (gcc, null) : (null, "no C compiler: gcc is not on PATH and $CC is not set");

        static string? OnPath(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs one block; the program prints one sample per line in ns.</summary>
    private static async Task<Samples> RunAsync(string program, params string[] args)
    {
        var (code, stdout, stderr) = await ExecAsync(program, args, CancellationToken.None);
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} exited with {code}: {stderr.Trim()}");
        var samples = new Samples();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            samples.Add(double.Parse(line, CultureInfo.InvariantCulture) / 1000);
        return samples;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> ExecAsync(string file, string[] args, CancellationToken ct)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout, await stderr);
    }
}
