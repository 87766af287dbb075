using System.Diagnostics;

namespace PvDrm.Benchmarks.Harness;

/// <summary>
/// How much CPU other processes took while a case ran, in cores (0 to the core count): the
/// machine is shared, and a core taken by someone else's build changes what concurrency can show.
/// Busy time of the whole machine (/proc/stat) minus this process and its children
/// (utime + stime, plus cutime + cstime of the children already reaped).
/// </summary>
public sealed class CpuLoad
{
    private const double Hz = 100; // USER_HZ: /proc times are in 1/100 s on Linux
    private readonly Func<IEnumerable<int>> _children;
    private readonly long _machineStart, _oursStart;
    private readonly long _wallStart = Stopwatch.GetTimestamp();

    private CpuLoad(Func<IEnumerable<int>> children)
    {
        _children = children;
        _machineStart = MachineBusy();
        _oursStart = Ours();
    }

    public static CpuLoad Start(Func<IEnumerable<int>> children) => new(children);

    /// <summary>Average cores used by other processes since the start.</summary>
    public double ForeignCores()
    {
        double seconds = Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        if (seconds <= 0) return 0;
        double foreign = (MachineBusy() - _machineStart - (Ours() - _oursStart)) / Hz;
        return Math.Max(0, foreign / seconds);
    }

    private static long MachineBusy()
    {
        try
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            long total = f.Take(8).Sum();
            return total - f[3] - f[4]; // minus idle and iowait
        }
        catch (Exception)
        {
            return 0;
        }
    }

    private long Ours()
    {
        long sum = Times(Environment.ProcessId, includeReaped: true);
        foreach (int pid in _children()) sum += Times(pid, includeReaped: false);
        return sum;
    }

    private static long Times(int pid, bool includeReaped)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name in parentheses: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long t = long.Parse(f[11]) + long.Parse(f[12]);
            if (includeReaped) t += long.Parse(f[13]) + long.Parse(f[14]);
            return t;
        }
        catch (Exception)
        {
            return 0; // gone meanwhile
        }
    }
}
