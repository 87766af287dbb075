using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// The admin command `grant` (a container's share): the granted name is admitted only with its
/// token, a new grant replaces the old token, and a name the configuration binds to a token or to
/// uids cannot be granted another credential.
/// </summary>
public class GrantTests : TestKit, IDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";
    private readonly TempDir _dir = new();

    private HostHarness HostWith(AuthSettings auth) => new(this, new HostSettings { ListenUnix = null, Auth = auth });


    [Fact]
    public async Task A_granted_share_is_admitted_only_with_its_latest_token()
    {
        // Same-uid stays on: the grant must bind the name even for a peer that uid rules would admit.
        var host = HostWith(new AuthSettings());
        Assert.True(host.Admin(new ControlProtocol.Request("grant", "soft0-1", Value: "old-" + Token)).Ok);
        Assert.True(host.Admin(new ControlProtocol.Request("grant", "soft0-1", Value: Token)).Ok);

        var stale = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("soft0-1", "old-" + Token));
        Assert.Equal(Errno.EACCES, stale.Errno);
        var none = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("soft0-1", ""));
        Assert.Contains("no token was given", none.Message);
        await using var ok = await host.ConnectAsync("soft0-1", Token);
        Assert.True(ok.IsConnected);
    }

    [Fact]
    public void A_name_bound_by_the_configuration_or_a_short_token_cannot_be_granted()
    {
        File.WriteAllText(_dir["tokens"], "vm1 s3cret\n");
        var host = HostWith(new AuthSettings
        {
            TokensFile = _dir["tokens"],
            UidNames = new Dictionary<uint, IReadOnlySet<string>> { [1000] = new HashSet<string> { "alice" } },
        });
        var byToken = host.Admin(new ControlProtocol.Request("grant", "vm1", Value: Token));
        Assert.False(byToken.Ok);
        Assert.Contains("pvdrm.host.auth.tokens-file", byToken.Message);
        var byUid = host.Admin(new ControlProtocol.Request("grant", "alice", Value: Token));
        Assert.False(byUid.Ok);
        Assert.Contains("pvdrm.host.auth.uid-names", byUid.Message);
        Assert.False(host.Admin(new ControlProtocol.Request("grant", "soft0-0", Value: "short")).Ok);
        Assert.False(host.Admin(new ControlProtocol.Request("grant", "soft0-0", Key: "no-such-device", Value: Token)).Ok);
    }

    protected override void Dispose(bool disposing)
    {
        _dir.Dispose();
        base.Dispose(disposing);
    }
}
