using Spectre.Console;

namespace PvDrm.Benchmarks.Harness;

/// <summary>The report as the console table (kept apart from <see cref="Report"/>, which the unit tests compile without Spectre).</summary>
public static class ReportTable
{
    public static Table ToTable(this Report report, string title)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(title);
        foreach (var c in new[] { "case", "figure", "median", "p99 / IQR", "samples", "goal", "status", "note" })
            table.AddColumn(new TableColumn(c) { Alignment = c is "median" or "p99 / IQR" or "samples" ? Justify.Right : Justify.Left });
        foreach (var r in report.Rows)
            table.AddRow(Markup.Escape(r.Case), Markup.Escape(r.Figure), Markup.Escape(r.Value), Markup.Escape(r.P99),
                Markup.Escape(r.Samples), Markup.Escape(r.Goal), r.Status, Markup.Escape(r.Note));
        return table;
    }
}
