using System.Text.RegularExpressions;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Shim;

/// <summary>
/// Unmodified C programs using Debian's libdrm and libdrm_nouveau, run with <c>pvdrm-guest exec</c>
/// (LD_PRELOAD of libpvdrm_shim.so) against a live host and proxy in separate processes.
/// </summary>
public class ShimTests(ShimHostFixture live) : IClassFixture<ShimHostFixture>
{
    private static readonly TimeSpan Timeout = ShimHostFixture.Timeout;

    private async Task<string> RunAsync(string program, params string[] args)
    {
        await live.StartAsync();
        using var run = ShimProgram.Start(live.Shim, program, args);
        int code = await run.ExitAsync(Timeout);
        Assert.True(code == 0, $"{Path.GetFileName(program)} {string.Join(' ', args)} exited {code}:\n{run.Output}");
        await live.AwaitReleasedAsync("vm1"); // closing the file released everything it held
        return run.Output;
    }

    [ShimFact]
    public async Task Libdrm_core_calls_work_on_the_render_node()
    {
        string output = await RunAsync(ShimPrograms.Core, "core");

        Assert.Contains("ok drmGetVersion: nouveau 1.3.0", output);
        Assert.Contains("ok drmGetCap, drmGetNodeTypeFromFd", output);
        Assert.Contains("ok drmPrimeHandleToFD, drmPrimeFDToHandle, GEM close", output);
        Assert.Contains("ok dup, fcntl(F_DUPFD_CLOEXEC), close", output);
    }

    [ShimFact]
    public async Task Libdrm_nouveau_maps_and_shares_buffers_and_runs_a_verified_fill_and_gemm()
    {
        string output = await RunAsync(ShimPrograms.Nouveau, "96");

        Assert.Contains("ok device: chipset 0xc0", output);
        Assert.Contains("ok map, write, read back", output);
        Assert.Contains("ok shared by name and PRIME with a second file", output);
        Assert.Contains("ok pushbuf: FILL and GEMM 96x96x96 verified", output);
        Assert.Contains("ok nouveau", output);
    }

    [ShimFact]
    public async Task Calls_outside_the_boundary_fail_with_an_errno_and_are_logged_once()
    {
        await RunAsync(ShimPrograms.Core, "bad");
        string output = await RunAsync(ShimPrograms.Core, "bad");

        Assert.Contains("ok bad", output);
        // DRM_IOCTL_MODE_GETRESOURCES, refused in both runs, appears in the proxy's log once.
        Assert.Single(Regex.Matches(live.ProxyLog, "ioctl 0xc04064a0 .* outside PvDrm's boundary"));
    }

    [ShimFact]
    public async Task Two_programs_at_once_see_only_their_own_objects()
    {
        await live.StartAsync();
        using var first = ShimProgram.Start(live.Shim, ShimPrograms.Core, "isolate", "0xaaaaaaaa");
        using var second = ShimProgram.Start(live.Shim, ShimPrograms.Core, "isolate", "0x55555555");
        // Both hold an object with the same handle (and map offset) at the same time.
        await first.WaitForAsync("ready handle 1", Timeout);
        await second.WaitForAsync("ready handle 1", Timeout);
        first.Go();
        second.Go();

        Assert.True(await first.ExitAsync(Timeout) == 0, first.Output);
        Assert.True(await second.ExitAsync(Timeout) == 0, second.Output);
        Assert.Contains("ok isolate 0xaaaaaaaa", first.Output);
        Assert.Contains("ok isolate 0x55555555", second.Output);
        await live.AwaitReleasedAsync("vm1");
    }

    [ShimFact]
    public async Task A_program_whose_proxy_dies_gets_errors_instead_of_hanging()
    {
        await live.StartAsync();
        var proxy = await live.StartProxyAsync("vm2", live["drm2.sock"]);
        using var run = ShimProgram.Start(live["drm2.sock"], ShimPrograms.Core, "dead-proxy");
        await run.WaitForAsync("ready", Timeout);

        proxy.Signal(SIGKILL);
        await proxy.WaitAsync(Timeout);
        run.Go();

        Assert.True(await run.ExitAsync(Timeout) == 0, run.Output);
        Assert.Contains("ok dead-proxy", run.Output);
    }

    [ShimFact]
    public async Task Without_a_proxy_socket_exec_says_what_is_missing()
    {
        await live.StartAsync();
        using var run = ShimProgram.Start(live["nowhere.sock"], ShimPrograms.Core, "core");

        Assert.Equal(1, await run.ExitAsync(Timeout));
        Assert.Contains("cannot reach the proxy", run.Output);
    }
}
