using PvDrm.Client;
using PvDrm.Host.Demo;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// `pvdrm-host reload` and SIGHUP on a running pvdrm-host, every step a real process: a guest's
/// token added without dropping the guests already connected, and a broken file refused with
/// the running settings kept.
/// </summary>
public class ReloadTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    private Task<ChildProcess> Admin(params string[] args) => _run.Run("pvdrm-host", [.. args, "--config", _run["host.hocon"]]);

    private void Tokens(string text)
    {
        File.WriteAllText(_run["tokens"], text);
        File.SetUnixFileMode(_run["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private Task<DrmClient> Connect(string name, string token) =>
        DrmClient.ConnectAsync($"unix:{_run["host.sock"]}", new DrmClientOptions { Name = name, Token = token });

    [Fact]
    public async Task Reload_admits_a_new_token_without_dropping_a_guest_and_a_broken_file_keeps_the_running_settings()
    {
        Tokens("vm1 one\n");
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              auth { tokens-file = "{{_run["tokens"]}}", same-uid = off }
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run["host.hocon"]);
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
        await host.WaitForFileAsync(_run["host.sock"], Timeout);
        await using var vm1 = await Connect("vm1", "one");
        var ctx = await vm1.OpenContextAsync();
        Assert.Equal(Errno.EACCES, (await Assert.ThrowsAsync<DrmException>(() => Connect("vm2", "two"))).Errno);

        Tokens("vm1 one\nvm2 two\n");
        var reload = await Admin("reload");
        Assert.True(reload.ExitCode == 0, reload.Stderr);
        Assert.Contains("reloaded: 2 token(s) (and 0 granted kept)", reload.Stdout);
        Assert.Contains("1 connected guest(s) kept", reload.Stdout);
        await using (var vm2 = await Connect("vm2", "two"))
            await Verified.FillAndCheck(await vm2.OpenContextAsync(), 0x2);
        await Verified.FillAndCheck(ctx, 0x1); // the same connection and context as before the reload

        Tokens("vm1 one\nvm3\n"); // line 2 has no token
        var broken = await Admin("reload");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("reload refused, the running settings are kept", broken.Stderr);
        Assert.Contains(":2:", broken.Stderr);
        await using (var again = await Connect("vm2", "two")) // still the last good tokens
            Assert.True(again.IsConnected);

        // SIGHUP does the same; the host logs the outcome.
        Tokens("vm1 one\nvm2 two\nvm4 four\n");
        host.Signal(Tmds.Linux.LibC.SIGHUP);
        await UntilLogged(host, "reloaded: 3 token(s)");
        await using (var vm4 = await Connect("vm4", "four"))
            Assert.True(vm4.IsConnected);
        await Verified.FillAndCheck(ctx, 0x3);

        host.Signal(Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, await host.WaitAsync(Timeout));
    }

    /// <summary>Polls the host's log (its own signal); the deadline only ends a hang.</summary>
    private static async Task UntilLogged(ChildProcess host, string text)
    {
        for (var until = DateTime.UtcNow + Timeout; !host.Stderr.Contains(text); await Task.Delay(50))
            Assert.True(DateTime.UtcNow < until, $"the host never logged '{text}': {host.Stderr}");
    }

    public void Dispose() => _run.Dispose();
}
