using Akka.Configuration;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// A guest's name is bound to its credentials: a peer admitted by uid (these tests run as the
/// host's own user, which <c>same-uid</c> admits) cannot take a name that has a token or belongs to another uid,
/// so it can neither borrow that guest's sharing group and device nor lock the real guest out.
/// </summary>
public class NameBindingTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    private HostHarness Host(string auth, string more = "")
    {
        File.WriteAllText(_dir["tokens"], "vm1 s3cret\n");
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = ConfigurationFactory.ParseString($$"""
            pvdrm.host {
              listen.unix = ""
              control.unix = ""
              auth {
                tokens-file = "{{_dir["tokens"]}}"
                {{auth}}
              }
              {{more}}
            }
            """);
        return new HostHarness(this, HostSettings.Create(config));
    }


    [Fact]
    public async Task A_uid_admitted_peer_cannot_take_a_name_that_has_a_token_and_the_real_guest_never_gets_EBUSY()
    {
        var host = Host("same-uid = on");

        var squat = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm1"));
        Assert.Equal(Errno.EACCES, squat.Errno);
        Assert.Contains("pvdrm.host.auth.tokens-file", squat.Message);

        await using var real = await host.ConnectAsync("vm1", "s3cret");
        await Verified.FillAndCheck(await real.OpenContextAsync(), 0x5EA1ED01);
        // Names without a binding stay free for the uid, as before.
        await using var free = await host.ConnectAsync("scratch");
        Assert.True(free.IsConnected);
    }

    [Fact]
    public async Task A_uid_is_admitted_only_for_the_names_configured_for_it()
    {
        var host = Host($"same-uid = off\nuid-names {{ {Tmds.Linux.LibC.geteuid()} = [vm2, vm3] }}"); // our own uid, root or not

        await using var listed = await host.ConnectAsync("vm2");
        Assert.True(listed.IsConnected);
        var other = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm4"));
        Assert.Equal(Errno.EACCES, other.Errno);
        Assert.Contains("pvdrm.host.auth.uid-names", other.Message);
        // A name with a token is the token's, even if listed for the uid.
        var tokened = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm1"));
        Assert.Equal(Errno.EACCES, tokened.Errno);
    }

    [Fact]
    public async Task A_name_listed_for_another_uid_cannot_be_taken_by_the_hosts_own_user()
    {
        var host = Host("same-uid = on\nunix-uids = [0]\nuid-names { 4242 = [vm9] }");

        var error = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("vm9"));
        Assert.Equal(Errno.EACCES, error.Errno);
        Assert.Contains("pvdrm.host.auth.uid-names", error.Message);
        await using var free = await host.ConnectAsync("vm10");
        Assert.True(free.IsConnected);
    }

    [Fact]
    public async Task Cycling_names_does_not_grow_the_names_the_host_remembers()
    {
        var host = Host("same-uid = on", "admission.remembered-guests = 4");
        for (int i = 0; i < 12; i++)
        {
            await using var cycling = await host.ConnectAsync($"cycle-{i}");
            await cycling.OpenContextAsync();
        }

        // The oldest departed names are forgotten; the latest are still known to the operator.
        AwaitAssert(() =>
        {
            var forgotten = host.Admin(new ControlProtocol.Request("detach", Guest: "cycle-0"));
            Assert.False(forgotten.Ok);
            Assert.Contains("has connected", forgotten.Message);
        }, HostHarness.Timeout, HostHarness.Poll);
        Assert.True(host.Admin(new ControlProtocol.Request("detach", Guest: "cycle-11")).Ok);
    }

    /// <summary>
    /// Issue 16, attack 5: the host's own user (and root) may take any free name, so one uid
    /// could hold thousands of live names, each a guest in the host's tables. It holds at most
    /// auth.names-per-uid of them at once; a guest with a token is not counted and still comes in.
    /// </summary>
    [Fact]
    public async Task One_uid_holds_at_most_names_per_uid_free_names_at_once_and_a_guest_with_a_token_still_comes_in()
    {
        var host = Host("same-uid = on\nnames-per-uid = 3");
        var held = new List<DrmClient>();
        for (int i = 0; i < 3; i++) held.Add(await host.ConnectAsync($"free-{i}"));

        var over = await Assert.ThrowsAsync<DrmException>(() => host.ConnectAsync("free-3"));
        Assert.Equal(Errno.EMFILE, over.Errno);
        Assert.Contains("pvdrm.host.auth.names-per-uid", over.Message);
        Assert.Equal(3, host.Status().Guests.Count(g => g.Name.StartsWith("free-", StringComparison.Ordinal)));

        await using var bystander = await host.ConnectAsync("vm1", "s3cret");
        await Verified.FillAndCheck(await bystander.OpenContextAsync(), 0x5EA1ED02);

        // A name given up makes room for another.
        await held[0].DisposeAsync();
        AwaitAssert(() => Assert.DoesNotContain(host.Status().Guests, g => g.Name == "free-0"), HostHarness.Timeout, HostHarness.Poll);
        await using var next = await host.ConnectAsync("free-3");
        Assert.True(next.IsConnected);
        foreach (var c in held.Skip(1)) await c.DisposeAsync();
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
