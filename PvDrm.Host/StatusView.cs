using PvDrm.Protocol;
using Spectre.Console;
using Spectre.Console.Rendering;
using static PvDrm.Actors.Host.Control.ControlProtocol;

namespace PvDrm.Host;

/// <summary>`pvdrm-host status` for people: a header line, the devices, and one row per guest, once or refreshed live.</summary>
internal static class StatusView
{
    private static readonly string[] Columns =
    [
        "guest", "device", "transport", "uptime", "contexts", "objects", "memory", "mapped", "channels", "queued", "in flight",
        "served", "p50", "p99", "errors",
    ];

    public static IRenderable Render(HostStatus status)
    {
        var header = new Markup($"[bold]PvDrm host[/]: [bold]{status.Mode}[/] mode, {status.Devices.Count} device(s), " +
            $"{status.Guests.Count} guests, {status.Totals.Served} requests served since start");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in Columns) table.AddColumn(c);
        foreach (var g in status.Guests)
            table.AddRow(Markup.Escape(g.Name), Markup.Escape(g.Device ?? "none"), g.Transport, $"{TimeSpan.FromSeconds(g.UptimeSeconds):hh\\:mm\\:ss}", $"{g.Contexts}", $"{g.Objects}",
                Mib(g.Bytes), Mib(g.MappedBytes), $"{g.Channels}", $"{g.QueuedPushbufs}", $"{g.InFlight}", $"{g.Served}",
                Micros(g.Latency.P50Us, g.Latency.Count), Micros(g.Latency.P99Us, g.Latency.Count),
                g.Errors.Count == 0 ? "-" : string.Join(", ", g.Errors.Select(e => $"{e.Key} {e.Value}")));
        if (status.Guests.Count == 0) table.Caption("no guests connected");
        return new Rows(header, Devices(status.Devices), table);
    }

    /// <summary>`status --cluster`: one row per device of the pool, with its node's state and the guests placed on it.</summary>
    public static IRenderable Pool(ClusterStatus pool)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("node", "state", "advertised", "device", "kind", "memory", "in use", "guests");
        foreach (var n in pool.Nodes)
            foreach (var d in n.Devices.DefaultIfEmpty())
                table.AddRow(Markup.Escape(n.Name) + (n.Address == pool.Leader ? " (leader)" : ""), n.State, Markup.Escape(string.Join(" ", n.Advertise)),
                    Markup.Escape(d?.Name ?? "-"), d?.Kind ?? "-", d == null || d.MemoryBytes == 0 ? "?" : Mib(d.MemoryBytes), d == null ? "-" : Mib(d.LiveBytes),
                    d == null || d.Guests.Count == 0 ? "-" : Markup.Escape(string.Join(", ", d.Guests)));
        var unplaced = pool.Assignments.Where(a => a.Value == "none").Select(a => a.Key).ToList();
        var header = new Markup($"[bold]PvDrm pool[/] seen from {Markup.Escape(pool.Self)}: {pool.Nodes.Count} node(s), {pool.Assignments.Count} guest(s) placed" +
            (unplaced.Count > 0 ? $", without a device: {Markup.Escape(string.Join(", ", unplaced))}" : "") +
            (pool.Insecure ? "\n[red]insecure: no TLS between the nodes (pvdrm.cluster.insecure = on); anyone who reaches the cluster port can join[/]" : ""));
        return new Rows(header, table);
    }

    /// <summary>One row per device: what it is, what lives on it, who is attached.</summary>
    public static Table Devices(IReadOnlyList<DeviceStatus> devices)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("device", "kind", "driver", "memory", "buffers", "in use", "channels", "running", "completed", "guests");
        foreach (var d in devices)
            table.AddRow(Markup.Escape(d.Name) + (d.IsDefault ? " (default)" : ""), d.Kind, Markup.Escape(d.Driver),
                d.MemoryBytes == 0 ? "?" : Mib(d.MemoryBytes), $"{d.LiveBuffers}", Mib(d.LiveBytes), $"{d.LiveChannels}", $"{d.Running}",
                $"{d.Completed}/{d.Submitted}", GuestList(d));
        return table;
    }

    /// <summary>Connected guests, then those attached but not connected, marked as such.</summary>
    private static string GuestList(DeviceStatus d)
    {
        var names = d.Guests.Concat((d.Waiting ?? []).Select(g => $"{g} (not connected)")).ToList();
        return names.Count == 0 ? "-" : Markup.Escape(string.Join(", ", names));
    }

    /// <summary>
    /// Refreshes until cancelled, <paramref name="count"/> refreshes, or the host goes away: in
    /// place on a terminal, as successive snapshots when the output is a pipe or a file.
    /// </summary>
    public static async Task<int> Watch(Func<Task<Response>> fetch, TimeSpan interval, int count, CancellationToken ct)
    {
        var first = await fetch();
        if (!first.Ok || first.Status == null) return AdminCommands.Failed(first);
        bool inPlace = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        int result = 0;
        async Task Loop(Action<IRenderable> show)
        {
            show(Render(first.Status));
            for (int shown = 1; count == 0 || shown < count; shown++)
            {
                try
                {
                    await Task.Delay(interval, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                try
                {
                    if ((await fetch()).Status is { } next) show(Render(next));
                }
                catch (Exception e) when (e is IOException or TimeoutException or Native.Interop.ErrnoException)
                {
                    show(new Markup($"[red]lost the host:[/] {Markup.Escape(e.Message)}"));
                    result = 1;
                    return;
                }
            }
        }
        if (inPlace) await AnsiConsole.Live(Text.Empty).StartAsync(live => Loop(r => live.UpdateTarget(r)));
        else await Loop(r =>
        {
            AnsiConsole.Write(r);
            AnsiConsole.WriteLine();
        });
        return result;
    }

    private static string Mib(long bytes) => $"{bytes / 1048576.0:F1} MiB";

    private static string Micros(double us, long count) => count == 0 ? "-" : us >= 1000 ? $"{us / 1000:F1} ms" : $"{us:F0} µs";
}
