using PvDrm.Tests.Support;

namespace PvDrm.Tests.EndToEnd;

/// <summary>The main job, <c>pvdrm-host demo</c>, as the README runs it: the executable, end to end.</summary>
public class DemoTests : IDisposable
{
    private readonly Processes _run = new();

    [Fact]
    public async Task The_demo_verifies_every_guest_in_both_modes_and_exits_0()
    {
        var demo = await _run.Run("pvdrm-host", "demo", "--guests", "2", "--size", "64", "--iterations", "1");

        Assert.True(demo.ExitCode == 0, $"exit {demo.ExitCode}\n{demo.Stdout}\n{demo.Stderr}");
        Assert.Contains("concurrent: 2/2 verified", demo.Stdout);
        Assert.Contains("sequential: 2/2 verified", demo.Stdout);
        Assert.DoesNotContain("Unhandled exception", demo.Stdout + demo.Stderr);
    }

    public void Dispose() => _run.Dispose();
}
