using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace PvDrm.Benchmarks.Harness;

/// <summary>A goal a figure is held to: at most or at least a threshold; null: reported only.</summary>
public sealed record Goal(string Op, double Threshold)
{
    public static Goal AtMost(double x) => new("<=", x);

    public static Goal AtLeast(double x) => new(">=", x);

    public bool IsMet(double value) => !double.IsNaN(value) && value >= 0 && (Op == "<=" ? value <= Threshold : value >= Threshold);

    public override string ToString() => $"{Op} {Threshold.ToString("0.##", CultureInfo.InvariantCulture)}";
}

/// <summary>One line of the results table.</summary>
public sealed record Row(string Case, string Figure, string Value, string P99, string Samples, string Goal, string Status, string Note);

/// <summary>
/// What one run measured: the flat JSON object of named figures (numbers only, in the order they
/// were recorded) and the table rows that show them with their spread and goals.
/// </summary>
public sealed class Report
{
    private readonly List<KeyValuePair<string, double>> _figures = new();
    private readonly List<Row> _rows = new();
    private readonly List<string> _notes = new();

    public IReadOnlyList<Row> Rows => _rows;

    public IReadOnlyList<string> Notes => _notes;

    public IReadOnlyList<KeyValuePair<string, double>> Figures => _figures;

    public int GoalsMet { get; private set; }

    public int GoalsMissed { get; private set; }

    public void Set(string key, double value)
    {
        int i = _figures.FindIndex(f => f.Key == key);
        var pair = KeyValuePair.Create(key, Math.Round(value, value is > -10 and < 10 ? 4 : 2));
        if (i >= 0) _figures[i] = pair;
        else _figures.Add(pair);
    }

    public void Note(string text) => _notes.Add(text);

    /// <summary>
    /// A latency figure: <paramref name="key"/> (ending in _us) is the median, key_p99_us the 99th
    /// percentile, and key's stem + _samples the number of samples.
    /// </summary>
    public void Latency(string @case, string key, Samples s, string note = "", Goal? goal = null)
    {
        string stem = Stem(key, "_us");
        Set(key, s.Median);
        Set($"{stem}_p99_us", s.P99);
        Set($"{stem}_samples", s.Count);
        AddRow(@case, key, s.Median, Micros(s.Median), Micros(s.P99), $"{s.Count}", goal, note);
    }

    /// <summary>
    /// A throughput figure from repeated trials: key (ending in _ops_per_s or _per_s) is the median
    /// over trials, stem_trials their number, and with latencies stem_p99_us and stem_requests
    /// (guests_4_ops_per_s: guests_4_p99_us).
    /// </summary>
    public void Throughput(string @case, string key, Samples trials, string unit, Samples? latencies = null, string note = "", Goal? goal = null)
    {
        string stem = key.EndsWith("_ops_per_s", StringComparison.Ordinal) ? Stem(key, "_ops_per_s") : Stem(key, "_per_s");
        Set(key, trials.Median);
        Set($"{stem}_trials", trials.Count);
        string p99 = "";
        if (latencies != null)
        {
            Set($"{stem}_p99_us", latencies.P99);
            Set($"{stem}_requests", latencies.Count);
            p99 = $"{Micros(latencies.P99)} lat.";
        }
        AddRow(@case, key, trials.Median, $"{Number(trials.Median)} {unit}", p99,
            latencies != null ? $"{trials.Count} trials, {latencies.Count} req." : $"{trials.Count} trials", goal, note);
    }

    /// <summary>
    /// A bandwidth figure from per-sample times: median GB/s, and key_p99_gbps the bandwidth of the
    /// 99th-percentile (slow) sample.
    /// </summary>
    public void Bandwidth(string @case, string key, Samples seconds, double bytes, string note = "", Goal? goal = null)
    {
        string stem = Stem(key, "_gbps");
        double median = bytes / seconds.Median / 1e9, slow = bytes / seconds.P99 / 1e9;
        Set(key, median);
        Set($"{stem}_p99_gbps", slow);
        Set($"{stem}_samples", seconds.Count);
        AddRow(@case, key, median, $"{median:F2} GB/s", $"{slow:F2} GB/s", $"{seconds.Count}", goal, note);
    }

    /// <summary>A ratio of two figures of this run.</summary>
    public void Ratio(string @case, string key, double value, string note, Goal? goal = null)
    {
        Set(key, value);
        AddRow(@case, key, value, $"{value:F2}x", "", "", goal, note);
    }

    /// <summary>A plain value (bytes, counts).</summary>
    public void Value(string @case, string key, double value, string shown, string samples = "", string note = "", Goal? goal = null)
    {
        Set(key, value);
        AddRow(@case, key, value, shown, "", samples, goal, note);
    }

    /// <summary>A figure that could not be measured: -1 in the JSON, the reason in the table.</summary>
    public void Failed(string @case, string key, string reason, Goal? goal = null)
    {
        Set(key, -1);
        if (goal != null) GoalsMissed++;
        _rows.Add(new Row(@case, key, "failed", "", "", goal?.ToString() ?? "report", "[red]FAILED[/]", reason));
    }

    private void AddRow(string @case, string key, double value, string shown, string p99, string samples, Goal? goal, string note)
    {
        string status;
        if (goal == null) status = "report";
        else if (goal.IsMet(value))
        {
            GoalsMet++;
            status = "[green]met[/]";
        }
        else
        {
            GoalsMissed++;
            status = "[red]NOT met[/]";
        }
        _rows.Add(new Row(@case, key, shown, p99, samples, goal?.ToString() ?? "report", status, note));
    }

    private static string Stem(string key, string suffix) => key.EndsWith(suffix, StringComparison.Ordinal) ? key[..^suffix.Length] : key;

    public static string Micros(double us) => us >= 10_000 ? $"{us / 1000:F1} ms" : us >= 100 ? $"{us:F0} µs" : $"{us:F1} µs";

    public static string Number(double x) => x >= 1e6 ? $"{x / 1e6:F2} M" : x >= 1e4 ? $"{x / 1e3:F1} k" : $"{x:F0}";

    public Table ToTable(string title)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(title);
        foreach (var c in new[] { "case", "figure", "median", "p99", "samples", "goal", "status", "note" })
            table.AddColumn(new TableColumn(c) { Alignment = c is "median" or "p99" or "samples" ? Justify.Right : Justify.Left });
        foreach (var r in _rows)
            table.AddRow(Markup.Escape(r.Case), Markup.Escape(r.Figure), Markup.Escape(r.Value), Markup.Escape(r.P99),
                Markup.Escape(r.Samples), Markup.Escape(r.Goal), r.Status, Markup.Escape(r.Note));
        return table;
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (key, value) in _figures)
            {
                if (double.IsFinite(value)) w.WriteNumber(key, value);
                else w.WriteNumber(key, -1);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
