using System.Diagnostics;
using System.Text;
using static Tmds.Linux.LibC;

namespace PvDrm.Host.Demo;

/// <summary>A pvdrm-host or pvdrm-guest process started from this program's folder, with its output captured.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ChildProcess(Process process)
    {
        _process = process;
    }

    /// <param name="program">"pvdrm-guest" or "pvdrm-host", found beside this program.</param>
    public static ChildProcess Start(string program, params string[] args) => StartWith(program, null, args);

    /// <param name="environment">Variables to set (a null value removes one) over this process's.</param>
    public static ChildProcess StartWith(string program, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        string dir = AppContext.BaseDirectory;
        string apphost = Path.Combine(dir, program);
        var info = File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(dir, program + ".dll") } };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value == null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var guest = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (guest._stdout) guest._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (guest._stderr) guest._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return guest;
    }

    public int Id => _process.Id;

    /// <summary>Set by whoever killed it on purpose, so its exit is not taken for a failure.</summary>
    public bool Killed { get; set; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. SIGKILL to simulate a crash).</summary>
    public void Signal(int signal) => kill(_process.Id, signal);

    /// <summary>Asks the process to stop (SIGTERM) and waits; kills it if it does not.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return;
        kill(_process.Id, SIGTERM);
        try
        {
            await WaitAsync(grace);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Waits until the process wrote <paramref name="text"/> on stderr, or fails with what it wrote.</summary>
    public async Task WaitForStderrAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Stderr.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Path.GetFileName(_process.StartInfo.FileName)} exited with {_process.ExitCode} before writing '{text}': {Stderr.Trim()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Path.GetFileName(_process.StartInfo.FileName)} did not write '{text}' within {timeout.TotalSeconds:F0} s: {Stderr.Trim()}");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until <paramref name="path"/> exists (a socket the process creates), or fails with its stderr.</summary>
    public async Task WaitForFileAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Path.GetFileName(_process.StartInfo.FileName)} exited with {_process.ExitCode} before creating {path}: {Stderr.Trim()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Path.GetFileName(_process.StartInfo.FileName)} did not create {path} within {timeout.TotalSeconds:F0} s: {Stderr.Trim()}");
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
