using PvDrm.Actors.Host.Control;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Shim;

/// <summary>
/// A live pvdrm-host (SoftGpu with the nouveau personality) and a pvdrm-guest proxy serving the
/// render node, as separate processes, started on first use and shared by the shim tests.
/// </summary>
public sealed class ShimHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly TempDir _dir = new();
    private readonly List<ChildProcess> _processes = new();
    private readonly SemaphoreSlim _starting = new(1, 1);
    private ChildProcess? _proxy;

    public string this[string name] => _dir[name];

    /// <summary>The proxy's render node socket, for <c>pvdrm-guest exec --shim</c>.</summary>
    public string Shim => _dir["drm.sock"];

    /// <summary>Everything the shared proxy logged so far.</summary>
    public string ProxyLog => _proxy is { } p ? p.Stdout + p.Stderr : "";

    public async Task StartAsync()
    {
        await _starting.WaitAsync();
        try
        {
            if (_proxy != null) return;
            File.WriteAllText(_dir["host.hocon"], $"""
                pvdrm.host.soft-gpu.personality = nouveau
                pvdrm.host.soft-gpu.memory = 256 MiB
                pvdrm.host.soft-gpu.engines = 2
                pvdrm.host.control.unix = "{_dir["control.sock"]}"
                """);
            var host = Start("pvdrm-host", "serve", "--config", _dir["host.hocon"], "--listen", $"unix:{_dir["host.sock"]}");
            await host.WaitForFileAsync(_dir["host.sock"], Timeout);
            _proxy = await StartProxyAsync("vm1", Shim);
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>Another proxy of this host serving a render node at <paramref name="shim"/>.</summary>
    public async Task<ChildProcess> StartProxyAsync(string name, string shim)
    {
        var proxy = Start("pvdrm-guest", "serve", "--host", $"unix:{_dir["host.sock"]}", "--listen", $"unix:{_dir[name + ".sock"]}",
            "--name", name, "--shim", $"unix:{shim}");
        await proxy.WaitForFileAsync(shim, Timeout);
        return proxy;
    }

    /// <summary>Waits until <paramref name="guest"/> holds no context, object or channel on the host: its programs' files were all released.</summary>
    public async Task AwaitReleasedAsync(string guest)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var status = await ControlClient.SendAsync(_dir["control.sock"], new ControlProtocol.Request("status"), Timeout);
            var g = status.Status!.Guests.Single(s => s.Name == guest);
            if (g.Contexts == 0 && g.Objects == 0 && g.Channels == 0) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{guest} still holds {g.Contexts} contexts, {g.Objects} objects, {g.Channels} channels");
            await Task.Delay(HostHarness.Poll);
        }
    }

    private ChildProcess Start(string program, params string[] args)
    {
        var p = ChildProcess.Start(program, args);
        _processes.Add(p);
        return p;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var p in _processes.AsEnumerable().Reverse()) await p.StopAsync(TimeSpan.FromSeconds(10));
        foreach (var p in _processes) p.Dispose();
        _dir.Dispose();
    }
}
