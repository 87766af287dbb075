using System.Net;
using System.Net.Sockets;
using PvDrm.Actors.Host.Control;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Vm;

/// <summary>
/// A pvdrm-host process on this machine that VM guests reach over QEMU's user network: TCP on a
/// free loopback port, a tokens file with one token per guest, and its control socket.
/// </summary>
internal sealed class TcpHost : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ChildProcess _host;

    private TcpHost(string settings, string[] guests)
    {
        File.WriteAllLines(_dir["tokens"], guests.Select(g => $"{g} {Convert.ToHexString(Guid.NewGuid().ToByteArray())}"));
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Port = FreePort();
        File.WriteAllText(Config, $$"""
            pvdrm.host {
              listen.unix = ""
              listen.tcp = "127.0.0.1:{{Port}}"
              auth.tokens-file = "{{_dir["tokens"]}}"
              auth.same-uid = off
              control.unix = "{{ControlSocket}}"
            }
            {{settings.Replace("$HOSTDIR", Path.GetDirectoryName(Config))}}
            """);
        _host = ChildProcess.Start("pvdrm-host", "serve", "--config", Config);
    }

    public static Task<TcpHost> StartAsync(params string[] guests) => StartWithAsync("", guests);

    /// <summary>A host with more <paramref name="settings"/> (HOCON, after the listener's; $HOSTDIR: the host's private folder).</summary>
    public static async Task<TcpHost> StartWithAsync(string settings, params string[] guests)
    {
        var host = new TcpHost(settings, guests);
        await host._host.WaitForFileAsync(host.ControlSocket, TimeSpan.FromSeconds(60));
        return host;
    }

    public int Port { get; }

    public string Config => _dir["host.hocon"];

    public string ControlSocket => _dir["control.sock"];

    /// <summary>A path in the host's private folder (the VM sees it read-only at the same path).</summary>
    public string this[string name] => _dir[name];

    public async Task<ControlProtocol.HostStatus> StatusAsync() =>
        (await ControlClient.SendAsync(ControlSocket, new ControlProtocol.Request("status"), ControlProtocol.Silence)).Status!;

    /// <summary>Asks the host's status until <paramref name="holds"/>, or fails with the last one after <paramref name="within"/>.</summary>
    public async Task<ControlProtocol.HostStatus> UntilAsync(Func<ControlProtocol.HostStatus, bool> holds, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var status = await StatusAsync();
            if (holds(status)) return status;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the host's status did not change as expected within {within.TotalSeconds:F0} s: " +
                    System.Text.Json.JsonSerializer.Serialize(status, ControlProtocol.Json));
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        _host.Dispose();
        _dir.Dispose();
    }
}
