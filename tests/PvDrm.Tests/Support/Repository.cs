namespace PvDrm.Tests.Support;

/// <summary>The checkout the tests run from (deploy/ scripts and samples live there).</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PvDrm.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("PvDrm.sln not found above the test output folder");
    }
}
