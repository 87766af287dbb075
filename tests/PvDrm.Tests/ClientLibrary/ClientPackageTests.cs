using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using PvDrm.Tests.Support;
using Xunit.Abstractions;

namespace PvDrm.Tests.ClientLibrary;

/// <summary>
/// The client library ships alone: `dotnet pack PvDrm.Client` builds the project by itself (its own
/// artifacts folder, nothing of the solution's build) into a NuGet package with XML docs and the
/// README, whose dependency closure holds none of the executables' heavy dependencies.
/// </summary>
public class ClientPackageTests(ITestOutputHelper output)
{
    // Bounds a hung build only; a build on a loaded machine takes what it takes.
    private static readonly TimeSpan BuildDeadline = TimeSpan.FromMinutes(10);

    private static readonly string[] Forbidden = ["Akka", "Serilog", "System.CommandLine", "prometheus-net"];

    [Fact]
    public async Task The_client_project_packs_alone_and_its_closure_has_no_akka_serilog_command_line_or_prometheus()
    {
        using var dir = new TempDir();
        var project = Path.Combine(Repository.Root, "PvDrm.Client", "PvDrm.Client.csproj");
        var (exit, text) = await RunAsync("dotnet", "pack", project, "--artifacts-path", dir["artifacts"], "-o", dir["pkg"], "-nologo", "-v", "q");
        Assert.True(exit == 0, $"dotnet pack PvDrm.Client exited {exit}:\n{text}");

        var assets = Libraries(Directory.GetFiles(dir["artifacts"], "project.assets.json", SearchOption.AllDirectories)
            .Single(f => f.Contains("PvDrm.Client", StringComparison.Ordinal)), "libraries");
        var deps = Libraries(Directory.GetFiles(dir["artifacts"], "PvDrm.Client.deps.json", SearchOption.AllDirectories).First(), "libraries");
        output.WriteLine($"closure: {string.Join(", ", assets)}");
        // What it does need is there: the test reads the right files.
        Assert.Contains(assets, l => l.StartsWith("Tmds.LibC/", StringComparison.Ordinal));
        Assert.Contains(deps, l => l.StartsWith("PvDrm.Native/", StringComparison.Ordinal));
        foreach (var name in assets.Concat(deps))
            Assert.False(Forbidden.Any(f => name.StartsWith(f, StringComparison.OrdinalIgnoreCase)), $"{name} is in PvDrm.Client's dependency closure");

        using var package = ZipFile.OpenRead(Directory.GetFiles(dir["pkg"], "PvDrm.Client.*.nupkg").Single());
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/PvDrm.Client.dll", entries);
        Assert.Contains("lib/net10.0/PvDrm.Client.xml", entries);
        Assert.Contains("lib/net10.0/PvDrm.Native.dll", entries);
        Assert.Contains("README.md", entries);
        using var nuspec = new StreamReader(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        string spec = await nuspec.ReadToEndAsync();
        Assert.Contains("<readme>README.md</readme>", spec);
        Assert.Contains("id=\"Tmds.LibC\"", spec);
        Assert.DoesNotContain("id=\"PvDrm.Native\"", spec); // inside, not a package nobody publishes
        foreach (var name in Forbidden) Assert.DoesNotContain($"id=\"{name}", spec, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The names (name/version) under <paramref name="property"/> of a project.assets.json or deps.json.</summary>
    private static List<string> Libraries(string path, string property)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.GetProperty(property).EnumerateObject().Select(p => p.Name).ToList();
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(BuildDeadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} still running after {BuildDeadline}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
