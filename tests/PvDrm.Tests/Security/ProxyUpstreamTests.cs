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
/// Applications of one guest share the proxy's one link to the host: none can close it for the
/// others, stall them by keeping its requests waiting, or make the proxy queue unbounded bytes.
/// </summary>
public class ProxyUpstreamTests : ProxyTestKit
{
    [Fact]
    public async Task A_prime_import_on_a_tcp_host_link_fails_that_request_and_other_applications_keep_working()
    {
        File.WriteAllText(Dir["tokens"], "vm s3cret\n");
        File.SetUnixFileMode(Dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var host = new HostHarness(this, new HostSettings
        {
            ListenUnix = null, ListenTcp = new IPEndPoint(IPAddress.Loopback, 0),
            Auth = new AuthSettings { TokensFile = Dir["tokens"], SameUid = false },
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
    public async Task An_application_whose_requests_all_wait_cannot_stall_another_application_of_its_guest()
    {
        // Nothing times out on its own while the test runs: the waits last as long as the attacker wants.
        var host = new HostHarness(this, new HostSettings { ListenUnix = Dir["host.sock"], RequestTimeout = TimeSpan.FromMinutes(10) },
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Requests_that_would_queue_more_than_an_applications_bytes_are_refused_for_that_application_only(bool ring)
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = Dir["host.sock"], RequestTimeout = TimeSpan.FromMinutes(10) },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMinutes(10) });
        AwaitCondition(() => File.Exists(Dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        string proxy = await ProxyAsync(host, new ProxySettings
        {
            Host = $"unix:{Dir["host.sock"]}", Name = "vm",
            Upstream = new UpstreamLimits { Window = 16, InFlightPerApplication = 4, MaxQueuedBytesPerApplication = 80_000, MaxQueuedBytes = 200_000 },
            Ring = new ProxyRingSettings { Enabled = ring },
        });
        await using var attacker = await DrmClient.ConnectAsync(proxy);
        await using var bystander = await DrmClient.ConnectAsync(proxy);
        Assert.Equal(ring, attacker.OnRing);
        Assert.Equal(ring, Status().UpstreamOnRing);
        // Each write must be one request: a write in chunks could have its first chunk refused and its
        // tail queued, and WriteAsync waits for every chunk it sent (the ring's 64 KiB slots cut 64 KiB in two).
        const int size = 48 * 1024;
        Assert.True(attacker.MaxChunk >= size, $"a {size}-byte write is one GEM_WRITE (chunks of {attacker.MaxChunk})");
        var ctx = await attacker.OpenContextAsync();
        var semaphore = await ctx.GemNewAsync(4096);
        var release = await semaphore.MapAsync();
        var target = await ctx.GemNewAsync(4096);
        var data = await ctx.GemNewAsync(64 * 1024);
        await ctx.SubmitAsync(await ctx.ChannelAllocAsync(), Commands.AcquireThenFill(semaphore, 1, target, 0x5E));
        var waits = Enumerable.Range(0, 4).Select(_ => target.CpuPrepAsync()).ToList();
        AwaitCondition(() => host.GuestStatus("vm").InFlight >= 4, HostHarness.Timeout, HostHarness.Poll);

        // The attacker's share of the window is taken: its writes wait in the proxy, up to its bytes.
        var queued = data.WriteAsync(0, new byte[size]);
        var error = await Assert.ThrowsAsync<DrmException>(() => data.WriteAsync(0, new byte[size]).WaitAsync(HostHarness.Timeout));
        Assert.Equal(Errno.EAGAIN, error.Errno);
        Assert.Contains(UpstreamLimits.Keys.MaxQueuedBytesPerApplication, error.Message);

        var result = await new GemmWorkload { Size = 32, Iterations = 1 }.RunAsync(bystander).WaitAsync(HostHarness.Timeout);
        Assert.True(result.Verified, result.Error);
        Assert.False(queued.IsCompleted);
        Volatile.Write(ref MemoryMarshal.Cast<byte, uint>(release.Bytes(0, 4))[0], 1u);
        await Task.WhenAll(waits.Append(queued)).WaitAsync(HostHarness.Timeout);
    }
}
