namespace PvDrm.Tests.Support;

/// <summary>
/// A test that needs programs this repository does not build (python3 for a script, say): where
/// one is missing from PATH it is skipped with the reason, except where CI sets
/// <see cref="Require"/>=1 and a missing program must fail the run instead.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public const string Require = "PVDRM_REQUIRE_TOOLS";

    public ToolFactAttribute(params string[] programs)
    {
        var missing = programs.Where(p => !OnPath(p)).ToArray();
        if (missing.Length > 0 && Environment.GetEnvironmentVariable(Require) != "1")
            Skip = $"needs {string.Join(", ", missing)} on PATH; install it, or set {Require}=1 to fail instead";
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
