using System.Diagnostics;
using System.Text;
using static Tmds.Linux.LibC;

namespace PvDrm.Host.Demo;

/// <summary>A pvdrm-guest process started from this program's folder, with its output captured.</summary>
internal sealed class GuestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private GuestProcess(Process process)
    {
        _process = process;
    }

    public static GuestProcess Start(params string[] args)
    {
        string dir = AppContext.BaseDirectory;
        string apphost = Path.Combine(dir, "pvdrm-guest");
        var info = File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(dir, "pvdrm-guest.dll") } };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var guest = new GuestProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (guest._stdout) guest._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (guest._stderr) guest._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return guest;
    }

    public int Id => _process.Id;

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

    /// <summary>Waits until <paramref name="path"/> exists (a socket the process creates), or fails with its stderr.</summary>
    public async Task WaitForFileAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(path))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"pvdrm-guest exited with {_process.ExitCode} before creating {path}: {Stderr.Trim()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"pvdrm-guest did not create {path} within {timeout.TotalSeconds:F0} s: {Stderr.Trim()}");
            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
