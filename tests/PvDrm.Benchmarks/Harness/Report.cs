using System.Text;
using System.Text.Json;

namespace PvDrm.Benchmarks.Harness;

/// <summary>One line of the results table.</summary>
public sealed record Row(string Case, string Figure, string Value, string P99, string Samples, string Goal, string Status, string Note);

/// <summary>
/// What one run measured: the flat JSON object of named figures (numbers, or null where a figure
/// could not be measured, in the order they were recorded, with the reasons in "why_null"), the
/// table rows that show them with their spread, and the goals of <see cref="Goals.Table"/> checked
/// against them.
/// </summary>
public sealed class Report
{
    private readonly List<KeyValuePair<string, double?>> _figures = new();
    private readonly Dictionary<string, string> _whyNull = new();
    private readonly List<Row> _rows = new();
    private readonly List<string> _notes = new();

    public IReadOnlyList<Row> Rows => _rows;

    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Every figure; null: not measured, see <see cref="WhyNull"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, double?>> Figures => _figures;

    public IReadOnlyDictionary<string, string> WhyNull => _whyNull;

    public int GoalsMet { get; private set; }

    public int GoalsMissed { get; private set; }

    /// <summary>Records a figure; a value that is not a finite number is recorded as null with that reason.</summary>
    public void Set(string key, double value)
    {
        if (double.IsFinite(value)) Put(key, Math.Round(value, value is > -10 and < 10 ? 4 : 2), null);
        else Put(key, null, double.IsNaN(value) ? "not a number (nothing was measured)" : "infinite");
    }

    public double? Get(string key) => _figures.FirstOrDefault(f => f.Key == key).Value;

    public bool Has(string key) => _figures.Any(f => f.Key == key);

    public void Note(string text) => _notes.Add(text);

    /// <summary>
    /// A latency figure: <paramref name="key"/> (ending in _us) is the median, key_p99_us the 99th
    /// percentile, and key's stem + _samples the number of samples.
    /// </summary>
    public void Latency(string @case, string key, Samples s, string note = "")
    {
        string stem = Stem(key, "_us");
        Set(key, s.Median);
        Set($"{stem}_p99_us", s.P99);
        Set($"{stem}_samples", s.Count);
        AddRow(@case, key, s.Median, Micros(s.Median), Micros(s.P99), $"{s.Count}", note);
    }

    /// <summary>
    /// A throughput figure from repeated trials: key (ending in _ops_per_s or _per_s) is the median
    /// over trials, stem_trials their number, and with latencies stem_p99_us and stem_requests
    /// (guests_4_ops_per_s: guests_4_p99_us).
    /// </summary>
    public void Throughput(string @case, string key, Samples trials, string unit, Samples? latencies = null, string note = "")
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
            latencies != null ? $"{trials.Count} trials, {latencies.Count} req." : $"{trials.Count} trials", note);
    }

    /// <summary>
    /// A bandwidth figure from per-sample times: median GB/s, and key_p99_gbps the bandwidth of the
    /// 99th-percentile (slow) sample.
    /// </summary>
    public void Bandwidth(string @case, string key, Samples seconds, double bytes, string note = "")
    {
        string stem = Stem(key, "_gbps");
        double median = bytes / seconds.Median / 1e9, slow = bytes / seconds.P99 / 1e9;
        Set(key, median);
        Set($"{stem}_p99_gbps", slow);
        Set($"{stem}_samples", seconds.Count);
        AddRow(@case, key, median, $"{median:F2} GB/s", $"{slow:F2} GB/s", $"{seconds.Count}", note);
    }

    /// <summary>
    /// A ratio taken once per interleaved block (or pair of trials): key is the median over the
    /// blocks, key_iqr their interquartile range, key_blocks their number.
    /// </summary>
    public void Ratio(string @case, string key, Samples perBlock, string note)
    {
        Set(key, perBlock.Median);
        Set($"{key}_iqr", perBlock.Iqr);
        Set($"{key}_blocks", perBlock.Count);
        AddRow(@case, key, perBlock.Median, $"{perBlock.Median:F2}x", $"IQR {perBlock.Iqr:F2}", $"{perBlock.Count} blocks", note);
    }

    /// <summary>A ratio of two totals of this run (counts, not timings), with no spread to report.</summary>
    public void Ratio(string @case, string key, double value, string note)
    {
        Set(key, value);
        AddRow(@case, key, value, $"{value:F2}x", "", "", note);
    }

    /// <summary>A plain value (bytes, counts).</summary>
    public void Value(string @case, string key, double value, string shown, string samples = "", string note = "")
    {
        Set(key, value);
        AddRow(@case, key, value, shown, "", samples, note);
    }

    /// <summary>
    /// A figure with no finite value that is known to be at least <paramref name="atLeast"/> (a
    /// ratio over a zero count): null with <paramref name="reason"/>, and key_at_least, which a
    /// goal of the form ">= x" is checked against.
    /// </summary>
    public void Unbounded(string @case, string key, double atLeast, string reason, string note)
    {
        Put(key, null, reason);
        Set($"{key}_at_least", atLeast);
        AddRow(@case, key, null, $">= {atLeast:F2}x", "", "", $"{note}; {reason}");
    }

    /// <summary>A figure that could not be measured: null in the JSON, the reason in the table and in why_null.</summary>
    public void Failed(string @case, string key, string reason)
    {
        Put(key, null, reason);
        var goal = Goals.For(key);
        if (goal != null) GoalsMissed++;
        _rows.Add(new Row(@case, key, "null", "", "", goal?.ToString() ?? "report", "[red]NOT measured[/]", reason));
    }

    /// <summary>
    /// The goals of the cases in <paramref name="casesRun"/> that this run missed, one line each:
    /// a figure beyond its threshold, or not measured at all.
    /// </summary>
    public IReadOnlyList<string> MissedGoals(IEnumerable<string> casesRun)
    {
        var ran = casesRun.ToHashSet();
        var missed = new List<string>();
        foreach (var row in Goals.Table.Where(g => ran.Contains(g.Case)))
        {
            if (IsMet(row.Figure, row.Goal)) continue;
            double? value = Get(row.Figure);
            string what = value is { } v ? $"{v:0.####}"
                : _whyNull.TryGetValue(row.Figure, out var why) ? $"null ({why})" : "not reported";
            missed.Add($"{row.Case}: {row.Figure} = {what}, goal {row.Goal} ({row.Source})");
        }
        return missed;
    }

    private bool IsMet(string key, Goal goal)
    {
        if (Get(key) is { } value) return goal.IsMet(value);
        return goal.Op == ">=" && Get($"{key}_at_least") is { } bound && goal.IsMet(bound);
    }

    private void Put(string key, double? value, string? whyNull)
    {
        int i = _figures.FindIndex(f => f.Key == key);
        var pair = KeyValuePair.Create(key, value);
        if (i >= 0) _figures[i] = pair;
        else _figures.Add(pair);
        if (whyNull != null) _whyNull[key] = whyNull;
        else _whyNull.Remove(key);
    }

    private void AddRow(string @case, string key, double? value, string shown, string p99, string samples, string note)
    {
        var goal = Goals.For(key);
        string status;
        if (goal == null) status = "report";
        else if (IsMet(key, goal))
        {
            GoalsMet++;
            status = "[green]met[/]";
        }
        else
        {
            GoalsMissed++;
            status = "[red]NOT met[/]";
        }
        _rows.Add(new Row(@case, key, value == null && shown == "" ? "null" : shown, p99, samples, goal?.ToString() ?? "report", status, note));
    }

    private static string Stem(string key, string suffix) => key.EndsWith(suffix, StringComparison.Ordinal) ? key[..^suffix.Length] : key;

    public static string Micros(double us) => us >= 10_000 ? $"{us / 1000:F1} ms" : us >= 100 ? $"{us:F0} µs" : $"{us:F1} µs";

    public static string Number(double x) => x >= 1e6 ? $"{x / 1e6:F2} M" : x >= 1e4 ? $"{x / 1e3:F1} k" : $"{x:F0}";

    /// <summary>The figures as one flat object (numbers or null), then "why_null": { key: reason }.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (key, value) in _figures)
            {
                if (value is { } v) w.WriteNumber(key, v);
                else w.WriteNull(key);
            }
            w.WriteStartObject("why_null");
            foreach (var (key, why) in _whyNull) w.WriteString(key, why);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
