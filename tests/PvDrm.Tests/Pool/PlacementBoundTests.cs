using PvDrm.Client;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// Issue 16, attack 5 in a pool: a uid admitted for free names could cycle names, and every name
/// left a placement replicated to every node, kept forever. Past pvdrm.cluster.max-free-placements
/// such guests are served on the node they reached, unrecorded; named guests are always recorded.
/// </summary>
public class PlacementBoundTests : IDisposable
{
    private readonly Processes _run = new();

    [Fact]
    public async Task Cycling_free_names_records_at_most_max_free_placements_and_every_guest_is_still_served()
    {
        int port = PoolTests.FreePort();
        File.WriteAllText(_run["tokens"], "bound 0123456789abcdef\n");
        File.SetUnixFileMode(_run["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(_run["n1.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["n1.sock"]}}"
              control.unix = "{{_run["n1-control.sock"]}}"
              soft-gpu { engines = 1, memory = 256 MiB }
              default-device = auto
              auth.tokens-file = "{{_run["tokens"]}}"
            }
            pvdrm.cluster {
              enabled = on
              node-name = n1
              port = {{port}}
              seed-nodes = ["akka.tcp://pvdrm@127.0.0.1:{{port}}"]
              advertise = ["unix:{{_run["n1.sock"]}}"]
              insecure = on
              max-free-placements = 2
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run["n1.hocon"]);
        await host.WaitForFileAsync(_run["n1-control.sock"], Processes.Timeout);
        await host.WaitForFileAsync(_run["n1.sock"], Processes.Timeout);
        await PoolTests.AwaitPool(_run["n1-control.sock"], s => PoolTests.AllUp(s, 1), "the one-node pool should be up");

        // Free names (admitted as the host's own user): the third and fourth go unrecorded.
        foreach (string name in new[] { "free1", "free2", "free3", "free4" })
        {
            await using var guest = await DrmClient.ConnectAsync($"unix:{_run["n1.sock"]}", new DrmClientOptions { Name = name });
            await Verified.FillAndCheck(await guest.OpenContextAsync(), 0xF0);
        }
        // A name with a token is recorded whatever the count of free ones.
        await using (var bound = await DrmClient.ConnectAsync($"unix:{_run["n1.sock"]}", new DrmClientOptions { Name = "bound", Token = "0123456789abcdef" }))
            await Verified.FillAndCheck(await bound.OpenContextAsync(), 0xB0);

        // Placements are written before a guest is admitted, so the pool already shows them all.
        var pool = await PoolTests.PoolStatus(_run["n1-control.sock"]);
        Assert.Equal(["bound", "free1", "free2"], pool.Assignments.Keys.Order(StringComparer.Ordinal));
    }

    public void Dispose() => _run.Dispose();
}
