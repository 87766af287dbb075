using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.ClientLibrary;

/// <summary>The README's sample is code that compiles and runs: it is <see cref="ReadmeSample"/>, run here against a host.</summary>
public class ReadmeSampleTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public void The_readme_sample_is_the_code_this_test_compiles()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "PvDrm.Client", "README.md"));
        int start = readme.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)].Split('\n');
        string source = File.ReadAllText(Path.Combine(Repository.Root, "tests", "PvDrm.Tests", "ClientLibrary", "ReadmeSample.cs"));
        var usings = source.Split('\n').TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal)).ToList();
        int begin = source.IndexOf("// sample:begin\n", StringComparison.Ordinal) + "// sample:begin\n".Length;
        var body = source[begin..source.IndexOf("        // sample:end", StringComparison.Ordinal)].Split('\n')
            .Select(l => l.StartsWith("        ", StringComparison.Ordinal) ? l[8..] : l);

        Assert.Equal(string.Join('\n', usings.Append("").Concat(body)).TrimEnd(), string.Join('\n', block).TrimEnd());
    }

    [Fact]
    public async Task The_readme_sample_writes_and_reads_back_a_gem_object_on_a_host()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"] });
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        var printed = new StringWriter();
        var console = Console.Out;
        Console.SetOut(TextWriter.Synchronized(printed));
        try
        {
            await ReadmeSample.RunAsync([$"unix:{_dir["host.sock"]}"]).WaitAsync(HostHarness.Timeout);
        }
        finally
        {
            Console.SetOut(console);
        }
        Assert.Contains("hello from a PvDrm guest", printed.ToString());
        host.AwaitDeviceEmpty(); // closed, and the context with it
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
