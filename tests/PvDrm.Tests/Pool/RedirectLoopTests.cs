using PvDrm.Actors.Guest;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Protocol;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Pool;

/// <summary>
/// A pool whose node redirects a guest back to itself: both requesters of the protocol, the
/// client library and the guest proxy's upstream, follow redirects by one rule
/// (<c>ClientLink.RedirectTarget</c>): the same limit, then ELOOP with the same message.
/// </summary>
public class RedirectLoopTests : IDisposable
{
    private const int Limit = ClientLink.DefaultMaxRedirects;

    private readonly TempDir _dir = new();

    private static string LoopMessage(RedirectingHost host) =>
        Redirects.TooMany(Limit, Limit, $"{Redirects.Prefix}{host.Address}: {RedirectingHost.Why}");

    [Fact]
    public async Task A_client_gives_up_a_redirect_loop_with_ELOOP_after_the_limit()
    {
        using var host = new RedirectingHost(_dir["loop.sock"]);
        await using var client = await DrmClient.ConnectAsync(host.Address).WaitAsync(HostHarness.Timeout);

        var open = await Assert.ThrowsAsync<DrmException>(() => client.OpenContextAsync().WaitAsync(HostHarness.Timeout));
        Assert.Equal(Errno.ELOOP, open.Errno);
        Assert.Contains(LoopMessage(host), open.Message);
        Assert.Equal(Limit + 1, host.Redirects); // the limit's redirects followed, the next refused

        // A device query follows the same rule, and its refusal names its own operation.
        var query = await Assert.ThrowsAsync<DrmException>(() => client.GetVersionAsync().WaitAsync(HostHarness.Timeout));
        Assert.Equal(Errno.ELOOP, query.Errno);
        Assert.StartsWith($"{OpTable.NameOf(Op.GetVersion)} failed", query.Message);
        Assert.Contains(LoopMessage(host), query.Message);
    }

    [Fact]
    public async Task The_proxy_upstream_gives_up_a_redirect_loop_with_the_same_limit_and_message()
    {
        using var host = new RedirectingHost(_dir["loop.sock"]);

        var loop = await Assert.ThrowsAnyAsync<ErrnoException>(() =>
            UpstreamLink.ConnectAsync(new ProxySettings { Host = host.Address, Name = "vm" }).WaitAsync(HostHarness.Timeout));
        Assert.Equal(Errno.ELOOP, loop.Errno);
        Assert.Contains(LoopMessage(host), loop.Message);
        Assert.Equal(Limit + 1, host.Redirects);
    }

    public void Dispose() => _dir.Dispose();
}
