using System.Collections.Concurrent;
using PvDrm.Benchmarks.Peers;
using PvDrm.Client;
using PvDrm.Host.Demo;

namespace PvDrm.Benchmarks.Harness;

/// <summary>A pvdrm-host serve process with its own sockets and config file.</summary>
public sealed record HostProcess(string Name, ChildProcess Process, string Socket, bool Sequential)
{
    public string Endpoint => $"unix:{Socket}";
}

/// <summary>
/// Everything the cases share: a temp folder for sockets and configs, the child processes (all
/// stopped at the end, even on failure), and lazily started fixtures (the main host and its
/// client, the raw echo server and its client).
/// </summary>
public sealed class BenchEnv : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentBag<ChildProcess> _children = new();
    private readonly ConcurrentBag<IAsyncDisposable> _disposables = new();
    private readonly Dictionary<string, Task<object>> _fixtures = new();
    private int _nextName;

    public BenchEnv(Settings settings)
    {
        Settings = settings;
        Dir = Directory.CreateTempSubdirectory("pvdrm-bench-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public Settings Settings { get; }

    public string Dir { get; }

    /// <summary>A fresh, unique guest name (the host admits one session per name).</summary>
    public string NewName(string prefix) => $"{prefix}-{Interlocked.Increment(ref _nextName)}";

    /// <summary>Starts `pvdrm-host serve` with its own guest socket, control socket and config file.</summary>
    public async Task<HostProcess> StartHostAsync(string name, bool sequential, string extraHocon = "")
    {
        string dir = Path.Combine(Dir, name);
        Directory.CreateDirectory(dir);
        string config = Path.Combine(dir, "host.hocon"), socket = Path.Combine(dir, "host.sock");
        await File.WriteAllTextAsync(config,
            $"pvdrm.host.control.unix = \"{Path.Combine(dir, "control.sock")}\"\n" +
            // The memory case opens 100k objects in one context; the scaling case holds 85 guests at once.
            "pvdrm.host.limits.handles-per-context = 200000\n" +
            "pvdrm.host.auth.names-per-uid = 256\n" + extraHocon);
        var process = Track(ChildProcess.Start("pvdrm-host", "serve", "--config", config, "--listen", $"unix:{socket}",
            "--sequential", sequential ? "on" : "off"));
        await process.WaitForFileAsync(socket, StartTimeout);
        return new HostProcess(name, process, socket, sequential);
    }

    /// <summary>
    /// Starts `pvdrm-guest serve` (a guest proxy) in front of <paramref name="host"/>, with
    /// <paramref name="hocon"/> (pvdrm.guest.* keys) as its config file if given; returns its socket.
    /// </summary>
    public async Task<(ChildProcess Process, string Endpoint)> StartProxyAsync(HostProcess host, string name, string? hocon = null)
    {
        string socket = Path.Combine(Dir, $"{name}.sock");
        string[] config = [];
        if (hocon != null)
        {
            string file = Path.Combine(Dir, $"{name}.hocon");
            await File.WriteAllTextAsync(file, hocon);
            config = ["--config", file];
        }
        var process = Track(ChildProcess.Start("pvdrm-guest", ["serve", .. config, "--host", host.Endpoint, "--listen", $"unix:{socket}", "--name", name]));
        await process.WaitForFileAsync(socket, StartTimeout);
        return (process, $"unix:{socket}");
    }

    /// <summary>The control socket of <paramref name="host"/> (its status: guests, requests served).</summary>
    public static string ControlSocket(HostProcess host) => Path.Combine(Path.GetDirectoryName(host.Socket)!, "control.sock");

    /// <summary>Starts this program in one of its server modes (--echo-server, --grpc-server, --akka-server).</summary>
    public ChildProcess StartSelf(params string[] args) =>
        Track(ChildProcess.Start("pvdrm-bench",
            [.. args, "--parent", $"{Environment.ProcessId}"]));

    /// <summary>The child processes still running, for <see cref="CpuLoad"/>.</summary>
    public IEnumerable<int> LiveChildren() => _children.Where(c => !c.HasExited).Select(c => c.Id).ToList();

    public ChildProcess Track(ChildProcess process)
    {
        _children.Add(process);
        return process;
    }

    public T Track<T>(T disposable) where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    /// <param name="ring">Whether the client may move its frames into a shared-memory ring (the default, as for any DrmClient); false: the socket only.</param>
    public async Task<DrmClient> ConnectAsync(string endpoint, string name, bool ring = true) =>
        Track(await DrmClient.ConnectAsync(endpoint, new DrmClientOptions { Name = name, Ring = ring }));

    private async Task<T> Fixture<T>(string key, Func<Task<T>> create) where T : class
    {
        Task<object> task;
        lock (_fixtures)
        {
            if (!_fixtures.TryGetValue(key, out task!))
                _fixtures[key] = task = Wrap(create);
        }
        return (T)await task;

        static async Task<object> Wrap(Func<Task<T>> create) => await create();
    }

    /// <summary>The concurrent host most cases use.</summary>
    public Task<HostProcess> MainHostAsync() => Fixture("main-host", () => StartHostAsync("main", sequential: false));

    /// <summary>One guest connected straight to the main host.</summary>
    public Task<DrmClient> MainClientAsync() => Fixture("main-client", async () => await ConnectAsync((await MainHostAsync()).Endpoint, "bench-main"));

    /// <summary>The raw SEQPACKET echo server (a child process of this program) and a client of it.</summary>
    public Task<RawEchoClient> RawEchoAsync() => Fixture("raw-echo", async () =>
    {
        string path = await EchoServerAsync();
        return Track(RawEchoClient.Connect(path));
    });

    /// <summary>A client of the echo server's socket that answers from a thread-pool thread (one hop).</summary>
    public Task<RawEchoClient> RawEchoHopAsync() => Fixture("raw-echo-hop", async () =>
    {
        string path = await EchoServerAsync();
        return Track(RawEchoClient.Connect(EchoServer.HopPath(path)));
    });

    private Task<string> EchoServerAsync() => Fixture("echo-server", async () =>
    {
        string path = Path.Combine(Dir, "echo.sock");
        var server = StartSelf("--echo-server", path);
        await server.WaitForFileAsync(EchoServer.HopPath(path), StartTimeout);
        return path;
    });

    /// <summary>The C ping-pongs (the physical limits), compiled once per run; see <see cref="CPingPong.WhyNot"/>.</summary>
    public Task<CPingPong> CPingPongAsync() => Fixture("c-pingpong", () => CPingPong.BuildAsync(Dir, CancellationToken.None));

    /// <summary>Kills every child process at once (the process is exiting).</summary>
    private void KillAll()
    {
        foreach (var c in _children)
        {
            try
            {
                c.Dispose();
            }
            catch (Exception)
            {
                // Already gone.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _disposables)
        {
            try
            {
                await d.DisposeAsync();
            }
            catch (Exception)
            {
                // Disconnecting from a process that is gone.
            }
        }
        await Task.WhenAll(_children.Select(async c =>
        {
            try
            {
                await c.StopAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // Killed below.
            }
        }));
        KillAll();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
