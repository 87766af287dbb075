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
/// Applications of one guest attack each other through the proxy, following the protocol
/// exactly: the proxy keeps them as isolated as guests (issue 16, attacks 9 and 10).
/// </summary>
public class ProxyIsolationTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    private async Task<string> ProxyAsync(HostHarness host, ProxySettings settings)
    {
        settings = settings with { Listen = $"unix:{_dir["vm.sock"]}", Name = settings.Name.Length > 0 ? settings.Name : "vm", ControlUnix = _dir["vm-control.sock"] };
        var upstream = await UpstreamLink.ConnectAsync(settings).WaitAsync(HostHarness.Timeout);
        Sys.ActorOf(GuestProxy.Props(settings, upstream, _ => { }));
        AwaitCondition(() => File.Exists(_dir["vm.sock"]) && File.Exists(_dir["vm-control.sock"]), HostHarness.Timeout, HostHarness.Poll);
        return $"unix:{_dir["vm.sock"]}";
    }

    private Task<string> UnixProxyAsync(HostHarness host, NameSharing sharing = NameSharing.Application, bool cache = false)
    {
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        return ProxyAsync(host, new ProxySettings
        {
            Host = $"unix:{_dir["host.sock"]}", Name = "vm", Sharing = sharing, Cache = new GemCacheOptions { Enabled = cache },
        });
    }

    private HostHarness UnixHost(SoftGpuOptions? gpu = null) => new(this, new HostSettings { ListenUnix = _dir["host.sock"] }, gpu);

    private ControlProtocol.ProxyStatus Status() =>
        ControlClient.SendAsync(_dir["vm-control.sock"], new ControlProtocol.Request("status"), HostHarness.Timeout).GetAwaiter().GetResult().Proxy!;

    [Fact]
    public async Task A_prime_import_on_a_tcp_host_link_fails_that_request_and_other_applications_keep_working()
    {
        File.WriteAllText(_dir["tokens"], "vm s3cret\n");
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var host = new HostHarness(this, new HostSettings
        {
            ListenUnix = null, ListenTcp = new IPEndPoint(IPAddress.Loopback, 0),
            Auth = new AuthSettings { TokensFile = _dir["tokens"], SameUid = false },
        });
        string[] listening = [];
        AwaitCondition(() => (listening = host.Host.Ask<string[]>(PvDrmHost.GetListening.Instance).GetAwaiter().GetResult()).Length > 0,
            HostHarness.Timeout, HostHarness.Poll);
        string proxy = await ProxyAsync(host, new ProxySettings { Host = listening.Single(l => l.StartsWith("tcp:", StringComparison.Ordinal)), Name = "vm", Token = "s3cret" });
        await using var attacker = await DrmClient.ConnectAsync(proxy);
        await using var bystander = await DrmClient.ConnectAsync(proxy);

        using var fd = Native.Memory.MemFd.Create("attack", 4096);
        var error = await Assert.ThrowsAsync<DrmException>(async () => await (await attacker.OpenContextAsync()).PrimeImportAsync(fd));

        Assert.Equal(Errno.EOPNOTSUPP, error.Errno);
        Assert.Contains("tcp link to the host cannot carry", error.Message);
        var result = await new GemmWorkload { Size = 32, Iterations = 1 }.RunAsync(bystander);
        Assert.True(result.Verified, result.Error);
        await (await attacker.OpenContextAsync()).GemNewAsync(4096); // the attacker's own session goes on too
    }

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
    public async Task A_buffer_closed_with_gpu_work_pending_is_not_handed_to_the_next_application_before_its_fence()
    {
        var host = UnixHost(new SoftGpuOptions { SemaphoreTimeout = HostHarness.Timeout });
        string proxy = await UnixProxyAsync(host, cache: true);
        await using var a = await DrmClient.ConnectAsync(proxy);
        await using var b = await DrmClient.ConnectAsync(proxy);
        var ctxA = await a.OpenContextAsync();
        var semaphore = await ctxA.GemNewAsync(4096);
        var source = await ctxA.GemNewAsync(64 * 1024);
        var copy = await ctxA.GemNewAsync(64 * 1024);
        await source.WriteAsync(0, Enumerable.Repeat((byte)0x11, 64 * 1024).ToArray());
        // A COPY out of the source that waits for the semaphore: the source stays busy.
        var pushbuf = new PushbufBuilder();
        uint s = pushbuf.Use(semaphore, BufferAccess.Read), src = pushbuf.Use(source, BufferAccess.Read), dst = pushbuf.Use(copy, BufferAccess.Write);
        pushbuf.Commands.SemaphoreAcquire(s, 0, 1);
        pushbuf.Commands.Copy(src, 0, dst, 0, 64 * 1024);
        ulong fence = await ctxA.SubmitAsync(await ctxA.ChannelAllocAsync(), pushbuf);

        await source.CloseAsync();
        AwaitCondition(() => Status() is var st && (st.Cache.Settling == 1 || st.CachedWithName == 1), HostHarness.Timeout, HostHarness.Poll);
        var next = await (await b.OpenContextAsync()).GemNewAsync(64 * 1024);
        await next.WriteAsync(0, Enumerable.Repeat((byte)0x22, 64 * 1024).ToArray()); // B's secret
        Assert.Equal(4, host.Device.GetStats().LiveBuffers); // B got a new object, not the busy one

        await semaphore.WriteAsync(0, BitConverter.GetBytes(1u));
        await ctxA.FenceWaitAsync(fence);
        var back = new byte[64 * 1024];
        await copy.ReadAsync(0, back);
        Assert.True(back.All(x => x == 0x11), "the delayed COPY read another application's data");
        // Once its work is done, the object does enter the pool.
        AwaitCondition(() => Status() is var st && st.CachedWithName == 1 && st.Cache.Settling == 0, HostHarness.Timeout, HostHarness.Poll);
    }

    [Fact]
    public async Task An_application_whose_requests_all_wait_cannot_stall_another_application_of_its_guest()
    {
        // Nothing times out on its own while the test runs: the waits last as long as the attacker wants.
        var host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"], RequestTimeout = TimeSpan.FromMinutes(10) },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMinutes(10) });
        string proxy = await UnixProxyAsync(host);
        await using var attacker = await DrmClient.ConnectAsync(proxy);
        await using var bystander = await DrmClient.ConnectAsync(proxy);
        var ctx = await attacker.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var release = await semaphore.MapAsync(); // the attacker's own socket will not be read: it releases through memory
        var target = await ctx.GemNewAsync(4096);
        // Work on the target that waits for a semaphore nobody releases: every CPU_PREP on it waits.
        await ctx.SubmitAsync(await ctx.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 0x5E));

        // As many requests as the proxy takes from one application (its requests-per-application).
        var waits = Enumerable.Range(0, 256).Select(_ => target.CpuPrepAsync()).ToList();
        AwaitCondition(() => host.GuestStatus("vm").InFlight >= 64, HostHarness.Timeout, HostHarness.Poll);

        var result = await new GemmWorkload { Size = 32, Iterations = 1 }.RunAsync(bystander).WaitAsync(HostHarness.Timeout);
        Assert.True(result.Verified, result.Error);
        Assert.DoesNotContain(waits, w => w.IsCompleted); // the attacker held its waits throughout

        // Released, the attacker's waits all complete: its queued requests were kept, not dropped.
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        await Task.WhenAll(waits).WaitAsync(HostHarness.Timeout);
    }

    [Fact]
    public async Task Requests_that_would_queue_more_than_an_applications_bytes_are_refused_for_that_application_only()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = _dir["host.sock"], RequestTimeout = TimeSpan.FromMinutes(10) },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMinutes(10) });
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        string proxy = await ProxyAsync(host, new ProxySettings
        {
            Host = $"unix:{_dir["host.sock"]}", Name = "vm",
            Upstream = new UpstreamLimits { Window = 16, InFlightPerApplication = 4, MaxQueuedBytesPerApplication = 100_000, MaxQueuedBytes = 200_000 },
        });
        await using var attacker = await DrmClient.ConnectAsync(proxy);
        await using var bystander = await DrmClient.ConnectAsync(proxy);
        var ctx = await attacker.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await ctx.GemNewAsync(4096);
        var data = await ctx.GemNewAsync(64 * 1024);
        await ctx.SubmitAsync(await ctx.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 0x5E));
        var waits = Enumerable.Range(0, 4).Select(_ => target.CpuPrepAsync()).ToList();
        AwaitCondition(() => host.GuestStatus("vm").InFlight >= 4, HostHarness.Timeout, HostHarness.Poll);

        // The attacker's share of the window is taken: its writes wait in the proxy, up to its bytes.
        var queued = data.WriteAsync(0, new byte[64 * 1024]);
        var error = await Assert.ThrowsAsync<DrmException>(() => data.WriteAsync(0, new byte[64 * 1024]));
        Assert.Equal(Errno.EAGAIN, error.Errno);
        Assert.Contains(UpstreamLimits.Keys.MaxQueuedBytesPerApplication, error.Message);

        var result = await new GemmWorkload { Size = 32, Iterations = 1 }.RunAsync(bystander).WaitAsync(HostHarness.Timeout);
        Assert.True(result.Verified, result.Error);
        Assert.False(queued.IsCompleted);
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        await Task.WhenAll(waits.Append(queued)).WaitAsync(HostHarness.Timeout);
    }

    [Fact]
    public async Task An_application_holds_a_bounded_number_of_names_and_names_it_closed_leave_the_table()
    {
        var host = UnixHost();
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        string proxy = await ProxyAsync(host, new ProxySettings { Host = $"unix:{_dir["host.sock"]}", Name = "vm", NamesPerApplication = 8 });
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

    [ShimFact]
    public async Task Idle_render_node_files_use_no_host_context_and_a_program_still_runs()
    {
        var host = UnixHost(new SoftGpuOptions { Personality = SoftGpuPersonality.Nouveau });
        AwaitCondition(() => File.Exists(_dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        await ProxyAsync(host, new ProxySettings { Host = $"unix:{_dir["host.sock"]}", Name = "vm", ShimUnix = $"unix:{_dir["drm.sock"]}" });
        AwaitCondition(() => File.Exists(_dir["drm.sock"]), HostHarness.Timeout, HostHarness.Poll); // the render node listens a moment after the proxy
        // More open files than the guest may have contexts (pvdrm.host.limits.contexts-per-guest = 64).
        var idle = Enumerable.Range(0, 80).Select(_ => Native.Io.UnixSocket.Connect(_dir["drm.sock"])).ToList();
        try
        {
            using var run = ShimProgram.Start(_dir["drm.sock"], ShimPrograms.Core, "core");
            int code = await run.ExitAsync(HostHarness.Timeout);

            Assert.True(code == 0, $"shim_core core exited {code}:\n{run.Output}");
            AwaitCondition(() => host.GuestStatus("vm").Contexts == 0, HostHarness.Timeout, HostHarness.Poll);
        }
        finally
        {
            foreach (var fd in idle) fd.Dispose();
        }
    }

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
