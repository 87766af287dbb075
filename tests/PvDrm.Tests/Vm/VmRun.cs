using System.Diagnostics;
using System.Text;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Vm;

/// <summary>
/// One deploy/vm script (boot.sh or run.sh) run as a process: its output collected line by line,
/// so a test can await what the VM prints, and QEMU's pid (--pidfile) to kill the VM itself.
/// </summary>
internal sealed class VmRun : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly string _pidFile;
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Line)> _awaited = new();

    private VmRun(string script, string pidFile, string[] args)
    {
        _pidFile = pidFile;
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(VirtualMachines.Scripts, script));
        foreach (string a in args) info.ArgumentList.Add(a);
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) Line(_stdout, e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) Line(_stderr, e.Data); };
        // WaitForExit() first: the last lines may still be in the pipe when Exited fires.
        _process.Exited += (_, _) => { _process.WaitForExit(); lock (_awaited) foreach (var (_, line) in _awaited) line.TrySetException(Ended()); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts deploy/vm/<paramref name="script"/> with <paramref name="args"/> before its own `--pidfile`.</summary>
    public static VmRun Start(string script, string pidFile, params string[] args) =>
        new(script, pidFile, [.. args.TakeWhile(a => a != "--"), "--pidfile", pidFile, .. args.SkipWhile(a => a != "--")]);

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>The first stdout line that matches, printed already or later; fails if the script ends first.</summary>
    public async Task<string> LineAsync(Func<string, bool> match)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_awaited)
        {
            var seen = Stdout.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(match);
            if (seen != null) return seen;
            if (_process.HasExited) throw Ended();
            _awaited.Add((match, line));
        }
        return await line.Task.WaitAsync(VirtualMachines.Timeout);
    }

    public async Task<int> ExitAsync()
    {
        using var cts = new CancellationTokenSource(VirtualMachines.Timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILLs QEMU, as a crashed or destroyed VM: its guest gets no chance to say goodbye.</summary>
    public void KillVm()
    {
        int pid = int.Parse(File.ReadAllText(_pidFile).Trim());
        Assert.Equal(0, kill(pid, SIGKILL));
    }

    private void Line(StringBuilder into, string text)
    {
        lock (_awaited)
        {
            lock (into) into.AppendLine(text);
            if (into != _stdout) return;
            foreach (var waiter in _awaited.Where(w => w.Match(text)).ToList())
            {
                waiter.Line.TrySetResult(text);
                _awaited.Remove(waiter);
            }
        }
    }

    private Exception Ended() => new InvalidOperationException($"the VM script ended (exit {_process.ExitCode}) first:\n{Stdout}\n{Stderr}");

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}
