using Prometheus;

namespace PvDrm.Actors.Host.Metrics;

/// <summary>
/// <c>process_open_fds</c> and <c>process_max_fds</c>, as Prometheus' own process collector names
/// them: descriptors are the host resource guests drive that runs out first (every buffer,
/// mapping export, connection and DRM file holds one), so an operator should see them.
/// </summary>
internal static class ProcessDescriptors
{
    public static void Register(CollectorRegistry registry)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var open = factory.CreateGauge("process_open_fds", "Number of open file descriptors.");
        var max = factory.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        registry.AddBeforeCollectCallback(() =>
        {
            open.Set(Directory.EnumerateFileSystemEntries("/proc/self/fd").Count());
            if (SoftLimit() is { } limit) max.Set(limit);
        });
    }

    /// <summary>The soft "Max open files" of /proc/self/limits; null where it cannot be read.</summary>
    private static double? SoftLimit()
    {
        foreach (string line in File.ReadLines("/proc/self/limits"))
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
                return double.TryParse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], out double v) ? v : null;
        return null;
    }
}
