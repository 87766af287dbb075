using PvDrm.Benchmarks.Harness;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Benchmarks.Cases;

/// <summary>Memory of one process as /proc/PID/status and /proc/PID/fd, /proc/PID/maps show it.</summary>
public sealed record ProcMemory(long RssKiB, long AnonKiB, long FileKiB, long ShmemKiB, int Fds, int Maps)
{
    public static ProcMemory Read(int pid)
    {
        long Field(string[] lines, string name) =>
            lines.FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) is { } line
                ? long.Parse(line[(name.Length + 1)..].Trim().Split(' ')[0])
                : -1;
        var status = File.ReadAllLines($"/proc/{pid}/status");
        int fds = Directory.GetFiles($"/proc/{pid}/fd").Length;
        int maps = File.ReadLines($"/proc/{pid}/maps").Count();
        return new ProcMemory(Field(status, "VmRSS"), Field(status, "RssAnon"), Field(status, "RssFile"), Field(status, "RssShmem"), fds, maps);
    }

    /// <summary>Resident memory other than shared-memory pages (the buffers' memfd pages would be RssShmem).</summary>
    public long PrivateKiB => AnonKiB + FileKiB;
}

/// <summary>
/// Host memory per idle GEM object: a fresh host process, one guest, one context; RSS of the host
/// before and after the guest creates many 4 KiB objects (pipelined, guest-assigned handles,
/// 256 in flight), minus what their pages could use (RssShmem, which stays ~0: untouched memfds).
/// The goal's count is 100k. SoftGpu makes a buffer's memfd only when it is first used, so idle
/// objects hold no descriptor; should a device's limits stop the count anyway (EMFILE,
/// vm.max_map_count), the failure is reported and a count that fits is measured as well.
/// </summary>
public sealed class HostMemoryCase : BenchCase
{
    public override string Name => "memory";

    public override string Title => "host memory per idle GEM object";

    public override IReadOnlyList<string> Keys => ["host_bytes_per_gem"];

    private const int Segments = 5;

    private sealed record Attempt(int Target, int Created, Exception? Error, ProcMemory Before, ProcMemory After, List<double> Segments)
    {
        /// <summary>The whole VmRSS growth per object, shared-memory pages included.</summary>
        public string? CloseError { get; init; }

        public double CloseMs { get; init; }

        public double RssBytesPerObject => Created == 0 ? double.NaN : (After.RssKiB - Before.RssKiB) * 1024.0 / Created;

        public double BytesPerObject => Created == 0 ? double.NaN : (After.PrivateKiB - Before.PrivateKiB) * 1024.0 / Created;
    }

    public override async Task RunAsync(CaseContext c)
    {
        int target = c.Settings.MemoryObjects;
        var first = await MeasureAsync(c, target, 0, 0.5);
        c.Report.Set("host_gem_objects_created", first.Created);
        c.Report.Set("host_fds_after", first.After.Fds);
        c.Report.Set("host_maps_after", first.After.Maps);
        if (first.Error == null)
        {
            Show(c, "host_bytes_per_gem", first);
            return;
        }

        c.Report.Set("host_close_after_failure_ok", first.CloseError == null ? 1 : 0);
        if (first.CloseError == null)
            c.Report.Value(Name, "host_close_after_failure_ms", first.CloseMs, $"{first.CloseMs:F0} ms", $"{first.Created} obj.",
                "CLOSE_CONTEXT of the objects created before the failure, then GET_PARAM: the host recovered");
        else
        {
            c.Report.Failed(Name, "host_close_after_failure_ms", $"CLOSE_CONTEXT after the failure: {first.CloseError}");
            c.Report.Note($"memory: CLOSE_CONTEXT after the {target / 1000}k attempt failed: {first.CloseError}");
        }
        int errno = first.Error is ErrnoException ee ? ee.Errno : -1;
        c.Report.Set("host_gem_errno", errno);
        string why = $"{target / 1000}k objects: GEM_NEW failed after {first.Created} were created " +
            $"(host then had {first.After.Fds} fds, {first.After.Maps} mappings): {first.Error.Message}";
        c.Report.Failed(Name, "host_bytes_per_gem", why);
        c.Report.Note($"memory: {why}");
        c.Report.Value(Name, "host_bytes_per_gem_partial", first.BytesPerObject, $"{first.BytesPerObject:F0} B",
            $"{first.Created} obj.", $"the {first.Created} objects created before the failure");

        // The most objects that fit under the limit that stopped us, with a margin, in fresh hosts.
        int fallback = Math.Max(1000, first.Created * 3 / 4 / 1000 * 1000);
        var attempts = new List<Attempt>();
        int repeats = c.Settings.MemoryRepeats;
        for (int r = 0; r < repeats; r++)
        {
            var attempt = await MeasureAsync(c, fallback, 0.5 + 0.5 * r / repeats, 0.5 + 0.5 * (r + 1) / repeats);
            if (attempt.Error != null)
            {
                c.Report.Failed(Name, $"host_bytes_per_gem_{fallback / 1000}k", $"failed after {attempt.Created}: {attempt.Error.Message}");
                return;
            }
            attempts.Add(attempt);
        }
        var median = attempts.OrderBy(x => x.BytesPerObject).ElementAt(attempts.Count / 2);
        Show(c, $"host_bytes_per_gem_{fallback / 1000}k", median, attempts);
    }

    private void Show(CaseContext c, string key, Attempt a, List<Attempt>? all = null)
    {
        string runs = all is { Count: > 1 } ? $"median of {all.Count} fresh hosts ({string.Join(", ", all.Select(x => $"{x.BytesPerObject:F0}"))} B); " : "";
        c.Report.Value(Name, key, a.BytesPerObject, $"{a.BytesPerObject:F0} B", $"{a.Created} obj." + (all is { Count: > 1 } ? $" x{all.Count}" : ""),
            runs + $"host RssAnon+RssFile {a.Before.PrivateKiB / 1024.0:F1} -> {a.After.PrivateKiB / 1024.0:F1} MiB; per object by segment: " +
            string.Join(", ", a.Segments.Select(x => $"{x:F0}")) + $" B; RssShmem {a.Before.ShmemKiB} -> {a.After.ShmemKiB} KiB; " +
            $"{a.After.Fds} fds, {a.After.Maps} mappings");
        c.Report.Set($"{key}_vmrss", a.RssBytesPerObject);
        c.Report.Set($"{key}_samples", all?.Count ?? 1);
    }

    private async Task<Attempt> MeasureAsync(CaseContext c, int count, double from, double to)
    {
        c.Status($"{count / 1000}k objects: starting a fresh host");
        var host = await c.Env.StartHostAsync(c.Env.NewName("memory"), sequential: false);
        var client = await DrmClient.ConnectAsync(host.Endpoint, new DrmClientOptions { Name = c.Env.NewName("bench-memory") });
        try
        {
            var ctx = await client.OpenContextAsync();

            // Warm up the paths (JIT, dictionaries, the GC's allocation budget) with the same work, then let it settle.
            c.Status($"{count / 1000}k objects: warming up");
            var warm = new GemObject[2000];
            await Measure.WindowedAsync(warm.Length, 256, async i => warm[i] = await ctx.GemNewAsync(4096), c.Ct);
            await Measure.WindowedAsync(warm.Length, 256, i => warm[i].CloseAsync(), c.Ct);
            await Measure.WindowedAsync(20_000, 64, _ => client.GetParamAsync(DeviceParam.GraphUnits), c.Ct);
            await Task.Delay(1000, c.Ct);
            var before = ProcMemory.Read(host.Process.Id);

            // In segments, reading the host's memory after each: the per-segment growth shows whether it is linear.
            int created = 0;
            Exception? error = null;
            var segments = new List<double>();
            var last = before;
            for (int segment = 0; segment < Segments && error == null; segment++)
            {
                c.Status($"{count / 1000}k objects: creating, segment {segment + 1}/{Segments}");
                int n = count / Segments;
                (int ok, error) = await Measure.WindowedAsync(n, 256, async i => await ctx.GemNewAsync(4096), c.Ct);
                created += ok;
                await Task.Delay(300, c.Ct);
                if (host.Process.HasExited) break;
                var now = ProcMemory.Read(host.Process.Id);
                if (ok > 0) segments.Add((now.PrivateKiB - last.PrivateKiB) * 1024.0 / ok);
                last = now;
                c.Progress(from + (to - from) * (segment + 1) / Segments);
            }
            await Task.Delay(700, c.Ct);
            if (host.Process.HasExited)
                throw new InvalidOperationException($"the host exited with {host.Process.ExitCode} after {created} objects ({error?.Message}): {Tail(host.Process.Stderr)} {Tail(host.Process.Stdout)}");
            var after = ProcMemory.Read(host.Process.Id);
            if (error != null && !client.IsConnected)
                error = new InvalidOperationException($"{error.Message}; the host ended the session: {Tail(host.Process.Stderr)} {Tail(host.Process.Stdout)}", error);
            // Closing the context releases every object; the host must still answer (after a failure too).
            string? closeError = null;
            long closeStart = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await ctx.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
                await client.GetParamAsync(DeviceParam.GraphUnits);
            }
            catch (Exception e)
            {
                // Give a dying host a moment, so that we can tell a crash from a dropped session.
                for (int i = 0; i < 20 && !host.Process.HasExited; i++) await Task.Delay(100);
                closeError = $"{e.Message} (host {(host.Process.HasExited ? $"exited with {host.Process.ExitCode}" : "still running")}; " +
                    $"its log, refusals left out: {Interesting(host.Process.Stderr + "\n" + host.Process.Stdout)})";
            }
            double closeMs = System.Diagnostics.Stopwatch.GetElapsedTime(closeStart).TotalMilliseconds;
            return new Attempt(count, created, error, before, after, segments) { CloseError = closeError, CloseMs = closeMs };
        }
        finally
        {
            await client.DisposeAsync();
            await host.Process.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>The host's log lines other than the (many) GEM_NEW refusals, at most 1500 characters.</summary>
    private static string Interesting(string log)
    {
        var lines = log.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0 && !l.Contains("refused with EMFILE", StringComparison.Ordinal)).ToList();
        string text = string.Join(" | ", lines);
        return text.Length <= 1500 ? text : text[..1500] + "...";
    }

    private static string Tail(string text, int chars = 600) => text.Length <= chars ? text.Trim() : "..." + text[^chars..].Trim();
}
