using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Tests.Security;

/// <summary>HELLO decides admission: a token for the guest's name, or the peer's uid.</summary>
public class AdmissionTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    private HostHarness HostWith(AuthSettings auth) => new(this, new HostSettings { ListenUnix = null, Auth = auth });

    private string Tokens(string text)
    {
        File.WriteAllText(_dir["tokens"], text);
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return _dir["tokens"];
    }


    [Fact]
    public async Task A_guest_with_its_token_is_admitted_and_a_wrong_or_missing_token_is_refused()
    {
        var host = HostWith(new AuthSettings { TokensFile = Tokens("# guests\nvm1 s3cret\nvm2 other # trailing comment\n"), SameUid = false });

        await using var ok = await host.ConnectAsync("vm1", "s3cret");
        Assert.True(ok.IsConnected);

        var wrong = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm2", "s3cret"));
        Assert.Equal(Errno.EACCES, wrong.Errno);
        Assert.Contains("token does not match", wrong.Message);
        var missing = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm3", ""));
        Assert.Contains("no token was given", missing.Message);
        Assert.Contains($"uid {Tmds.Linux.LibC.geteuid()} is not admitted", missing.Message);
    }

    [Fact]
    public async Task A_listed_uid_is_admitted_without_a_token()
    {
        var host = HostWith(new AuthSettings { UnixUids = new[] { (int)(uint)Tmds.Linux.LibC.geteuid() }, SameUid = false }); // our own uid, root or not
        await using var client = await host.ConnectAsync("by-uid", "");
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task By_default_the_hosts_own_user_is_admitted()
    {
        var host = HostWith(new AuthSettings());
        await using var client = await host.ConnectAsync("me", "");
        Assert.True(client.IsConnected);
    }

    [Fact]
    public void A_reload_keeps_granted_tokens_except_for_names_the_new_configuration_binds()
    {
        var before = Admission.Load(new AuthSettings { TokensFile = Tokens("vm1 aaaaaaaaaaaaaaaa\n"), SameUid = false });
        Assert.Null(before.Grant("share-0", "0123456789abcdef"));
        Assert.Null(before.Grant("share-1", "fedcba9876543210"));

        var after = Admission.Load(new AuthSettings { TokensFile = Tokens("vm1 aaaaaaaaaaaaaaaa\nshare-1 mine-now\n"), SameUid = false });
        Assert.Equal(1, after.KeepGrants(before));
        Assert.Null(after.Refusal("share-0", "0123456789abcdef", null));
        Assert.NotNull(after.Refusal("share-1", "fedcba9876543210", null)); // the file binds it now
        Assert.Null(after.Refusal("share-1", "mine-now", null));
    }

    [Fact]
    public void A_malformed_tokens_file_stops_start_up_naming_the_file_and_line()
    {
        var error = Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            Admission.Load(new AuthSettings { TokensFile = Tokens("vm1 a\nvm2\n") }));
        Assert.Contains("pvdrm.host.auth.tokens-file", error.Message);
        Assert.Contains(":2:", error.Message);
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => Admission.Load(new AuthSettings { TokensFile = _dir["missing"] }));
    }

    [Fact]
    public void A_tokens_file_others_can_read_is_flagged()
    {
        string path = Tokens("vm1 a\n");
        Assert.False(Admission.IsExposed(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.OtherRead);
        Assert.True(Admission.IsExposed(path));
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
