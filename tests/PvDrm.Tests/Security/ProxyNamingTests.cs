using System.Net;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Guest.Workloads;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Shim;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// Applications of one guest and their global names through the proxy: a name is its exporter's
/// unless <c>pvdrm.guest.sharing</c> says otherwise, and an application holds a bounded number.
/// </summary>
public class ProxyNamingTests : ProxyTestKit
{
    [Fact]
    public async Task An_application_cannot_import_a_name_another_application_exported()
    {
        var host = UnixHost();
        string proxy = await UnixProxyAsync(host);
        await using var owner = await DrmClient.ConnectAsync(proxy);
        await using var other = await DrmClient.ConnectAsync(proxy);
        var gem = await (await owner.OpenContextAsync()).GemNewAsync(4096);
        await gem.WriteAsync(0, new byte[] { 0x5E });
        uint name = await gem.ExportAsync();

        var error = await Assert.ThrowsAsync<DrmException>(async () => await (await other.OpenContextAsync()).ImportAsync(name));
        Assert.Equal(Errno.EACCES, error.Errno);
        Assert.Contains(GuestNames.Key, error.Message);
        // The next names, not exported by anyone yet, are refused as well.
        for (uint guess = name + 1; guess < name + 4; guess++)
            Assert.Equal(Errno.EACCES, (await Assert.ThrowsAsync<DrmException>(async () => await (await other.OpenContextAsync()).ImportAsync(guess))).Errno);

        // The exporting application itself may open it in another of its contexts.
        var mine = await (await owner.OpenContextAsync()).ImportAsync(name);
        var back = new byte[1];
        await mine.ReadAsync(0, back);
        Assert.Equal(0x5E, back[0]);
    }

    [Fact]
    public async Task With_guest_wide_sharing_applications_share_names_they_exported()
    {
        var host = UnixHost();
        string proxy = await UnixProxyAsync(host, NameSharing.Guest);
        await using var owner = await DrmClient.ConnectAsync(proxy);
        await using var other = await DrmClient.ConnectAsync(proxy);
        uint name = await (await (await owner.OpenContextAsync()).GemNewAsync(4096)).ExportAsync();

        var opened = await (await other.OpenContextAsync()).ImportAsync(name);

        Assert.Equal(4096ul, opened.Size);
        var guess = await Assert.ThrowsAsync<DrmException>(async () => await (await other.OpenContextAsync()).ImportAsync(name + 1));
        Assert.Equal(Errno.EACCES, guess.Errno);
    }

    [Fact]
    public async Task With_the_cache_on_the_name_the_proxy_is_about_to_give_an_object_cannot_be_imported()
    {
        var host = UnixHost();
        string proxy = await UnixProxyAsync(host, NameSharing.Guest, cache: true);
        await using var a = await DrmClient.ConnectAsync(proxy);
        await using var b = await DrmClient.ConnectAsync(proxy);
        var ctxB = await b.OpenContextAsync();
        uint last = await (await ctxB.GemNewAsync(4096)).ExportAsync(); // names are sequential: the cache's is next
        var gem = await (await a.OpenContextAsync()).GemNewAsync(4096);
        await gem.WriteAsync(0, new byte[] { 0x5E });

        await gem.CloseAsync();
        // Before, during and after the proxy names the closed object, its name opens nothing.
        do
        {
            var error = await Assert.ThrowsAsync<DrmException>(() => ctxB.ImportAsync(last + 1));
            Assert.True(error.Errno is Errno.EACCES or Errno.ENOENT, error.Message);
        }
        while (Status().CachedWithName < 1);
    }

    [Fact]
    public async Task An_application_holds_a_bounded_number_of_names_and_names_it_closed_leave_the_table()
    {
        var host = UnixHost();
        AwaitCondition(() => File.Exists(Dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        string proxy = await ProxyAsync(host, new ProxySettings { Host = $"unix:{Dir["host.sock"]}", Name = "vm", NamesPerApplication = 8 });
        await using var exporter = await DrmClient.ConnectAsync(proxy);
        await using var other = await DrmClient.ConnectAsync(proxy);
        var ctx = await exporter.OpenContextAsync();
        var gems = new List<GemObject>();
        var names = new List<uint>();
        for (int i = 0; i < 8; i++)
        {
            gems.Add(await ctx.GemNewAsync(4096));
            names.Add(await gems[i].ExportAsync());
        }
        Assert.Equal(names[0], await gems[0].ExportAsync()); // a handle's own name again takes no new place

        var extra = await ctx.GemNewAsync(4096);
        var full = await Assert.ThrowsAsync<DrmException>(() => extra.ExportAsync());
        Assert.Equal(Errno.ENOSPC, full.Errno);
        Assert.Contains(GuestNames.LimitKey, full.Message);
        await (await (await other.OpenContextAsync()).GemNewAsync(4096)).ExportAsync(); // the limit is this application's alone

        // A name reopened in another context stays while that handle does.
        uint kept = names[0];
        var reopened = await (await exporter.OpenContextAsync()).ImportAsync(kept);
        foreach (var gem in gems) await gem.CloseAsync();
        Assert.Equal(4096ul, (await (await exporter.OpenContextAsync()).ImportAsync(kept)).Size);

        // The seven others left the table: as many new names fit again, and no more.
        for (int i = 0; i < 7; i++) await (await ctx.GemNewAsync(4096)).ExportAsync();
        Assert.Equal(Errno.ENOSPC, (await Assert.ThrowsAsync<DrmException>(() => extra.ExportAsync())).Errno);
        await reopened.CloseAsync();
    }
}
