using System.Globalization;

namespace PvDrm.Benchmarks.Harness;

/// <summary>A threshold a figure is held to: at most or at least <see cref="Threshold"/>.</summary>
public sealed record Goal(string Op, double Threshold)
{
    public static Goal AtMost(double x) => new("<=", x);

    public static Goal AtLeast(double x) => new(">=", x);

    public bool IsMet(double value) => double.IsFinite(value) && (Op == "<=" ? value <= Threshold : value >= Threshold);

    public override string ToString() => $"{Op} {Threshold.ToString("0.##", CultureInfo.InvariantCulture)}";
}

/// <summary>One line of the goal table: the case that produces <see cref="Figure"/>, the goal, and where the goal comes from.</summary>
public sealed record GoalRow(string Case, string Figure, Goal Goal, string Source);
