using System.Net.Sockets;
using System.Text;
using PvDrm.Actors;
using PvDrm.Host.Demo;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// Type=notify as systemd sees it: a datagram socket the test binds plays NOTIFY_SOCKET. READY=1
/// means the sockets accept connections; WATCHDOG=1 comes only from a running I/O loop.
/// </summary>
public class SystemdNotifyTests : IDisposable
{
    private readonly Processes _processes = new();

    [Fact]
    public async Task The_host_says_READY_only_once_its_guest_socket_accepts_and_then_feeds_the_watchdog()
    {
        using var notify = NotifySocket(_processes["notify"]);
        string guests = _processes["host.sock"];
        var host = _processes.StartWith("pvdrm-host", new Dictionary<string, string?>
        {
            ["NOTIFY_SOCKET"] = _processes["notify"],
            ["WATCHDOG_USEC"] = "200000",
            ["WATCHDOG_PID"] = null,
        }, "serve", "--listen", $"unix:{guests}", "--set", $"pvdrm.host.control.unix={_processes["control.sock"]}");

        string ready = await ReceiveAsync(notify, host);

        // The moment systemd hears READY=1, a guest can connect.
        Assert.StartsWith("READY=1\nSTATUS=listening on ", ready);
        using (var guest = UnixSocket.Connect(guests)) Assert.False(guest.IsClosed);
        Assert.Equal("WATCHDOG=1", await ReceiveAsync(notify, host));
        await host.StopAsync(Processes.Timeout);
        Assert.Equal(0, host.ExitCode);
    }

    [Fact]
    public async Task A_stuck_io_loop_stops_feeding_the_watchdog()
    {
        using var notify = NotifySocket(_processes["notify"]);
        using var loop = new EventLoop("watchdog-test");
        using var notifier = new SystemdNotifier(_processes["notify"]);
        using var stuck = new ManualResetEventSlim();
        loop.Post(() => stuck.Wait());

        notifier.StartWatchdog(loop, TimeSpan.FromMilliseconds(5));
        // The timer keeps handing WATCHDOG=1 to the loop; a loop stuck in a callback sends none of them.
        await AwaitAsync(() => notifier.WatchdogPosts >= 3);
        Assert.Equal(0, notify.Available);

        stuck.Set();
        Assert.Equal("WATCHDOG=1", await ReceiveAsync(notify, null));
    }

    [Fact]
    public async Task The_proxy_waits_for_a_host_that_starts_late_then_says_READY()
    {
        using var notify = NotifySocket(_processes["notify"]);
        string hostSocket = _processes["host.sock"], proxySocket = _processes["proxy.sock"];
        var proxy = _processes.StartWith("pvdrm-guest", new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = _processes["notify"] },
            "serve", "--host", $"unix:{hostSocket}", "--listen", $"unix:{proxySocket}", "--name", "late",
            "--set", "pvdrm.guest.connect-backoff=200ms");
        await proxy.WaitForStderrAsync("waiting for the host", Processes.Timeout);
        Assert.StartsWith("STATUS=waiting for the host", await ReceiveAsync(notify, proxy));

        var host = _processes.Start("pvdrm-host", "serve", "--listen", $"unix:{hostSocket}", "--set", $"pvdrm.host.control.unix={_processes["control.sock"]}");
        string ready;
        do ready = await ReceiveAsync(notify, proxy);
        while (ready.StartsWith("STATUS=waiting", StringComparison.Ordinal));

        Assert.StartsWith("READY=1", ready);
        var run = await _processes.Run("pvdrm-guest", "run", "gemm", "--host", $"unix:{proxySocket}", "--size", "16", "--iterations", "1");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("verified", run.Stdout);
        Assert.False(proxy.HasExited);
        await proxy.StopAsync(Processes.Timeout);
        await host.StopAsync(Processes.Timeout);
    }

    private static Socket NotifySocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>The next datagram; fails with the process's stderr if it exits or nothing comes in time.</summary>
    private static async Task<string> ReceiveAsync(Socket socket, ChildProcess? from)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(Processes.Timeout);
        var receive = socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).AsTask();
        while (!receive.IsCompleted)
        {
            if (from is { HasExited: true }) throw new InvalidOperationException($"exited with {from.ExitCode} before notifying: {from.Stderr}");
            await Task.WhenAny(receive, Task.Delay(50));
        }
        return Encoding.UTF8.GetString(buffer, 0, await receive);
    }

    private static async Task AwaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Processes.Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(5);
        }
    }

    public void Dispose() => _processes.Dispose();
}
