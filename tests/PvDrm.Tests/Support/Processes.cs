using PvDrm.Host.Demo;

namespace PvDrm.Tests.Support;

/// <summary>
/// The built executables run as real processes by one test: a temp folder for their sockets and
/// configuration, and every process started killed (if still running) when the test ends.
/// </summary>
internal sealed class Processes : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();
    private readonly List<ChildProcess> _started = new();

    /// <summary>A path in the test's temp folder.</summary>
    public string this[string name] => _dir[name];

    public ChildProcess Start(string program, params string[] args)
    {
        var p = ChildProcess.Start(program, args);
        _started.Add(p);
        return p;
    }

    /// <summary>Starts a program with <paramref name="environment"/> over the test's (a null value removes a variable).</summary>
    public ChildProcess StartWith(string program, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var p = ChildProcess.StartWith(program, environment, args);
        _started.Add(p);
        return p;
    }

    /// <summary>Runs a program to its end (within <see cref="Timeout"/>) and returns it, exit code and output.</summary>
    public async Task<ChildProcess> Run(string program, params string[] args)
    {
        var p = Start(program, args);
        await p.WaitAsync(Timeout);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _started) p.Dispose();
        _dir.Dispose();
    }
}
