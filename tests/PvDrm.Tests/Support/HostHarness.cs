using Akka.Actor;
using Akka.TestKit;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Actors.Host.Registry;

namespace PvDrm.Tests.Support;

/// <summary>
/// A PvDrm host (the real actor tree on a SoftGpu) inside a TestKit actor system, with guests
/// connected over socketpairs: the real codec, links and actors, no socket files.
/// </summary>
internal sealed class HostHarness
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>How often awaited conditions are checked (TestKit's default is a tenth of the timeout).</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    private readonly TestKitBase _kit;
    private int _guests;

    /// <param name="device">The device to run on; by default a SoftGpu with <paramref name="gpu"/>'s options.</param>
    /// <param name="devices">Several devices instead (<see cref="Device"/> is then the first).</param>
    public HostHarness(TestKitBase kit, HostSettings? settings = null, SoftGpuOptions? gpu = null, IGpuDevice? device = null, HostDevices? devices = null)
    {
        _kit = kit;
        Settings = settings ?? new HostSettings { ListenUnix = null };
        // reference.conf's sockets are the machine's: a test that kept them would fail as an
        // ordinary user (no /run/pvdrm) and, as root, take the machine's paths.
        foreach (string? path in new[] { Settings.ListenUnix, Settings.ControlUnix })
            if (path != null && path.StartsWith("/run/", StringComparison.Ordinal))
                throw new ArgumentException($"a test host must not listen on {path}: set listen.unix and control.unix to \"\" or a temporary path");
        devices ??= HostDevices.Single(device ?? NewSoftGpu(gpu));
        Device = devices.All[0];
        Host = kit.Sys.ActorOf(PvDrmHost.Props(Settings, devices));
    }

    /// <summary>A SoftGpu with a name unique in the test run.</summary>
    public static SoftGpu NewSoftGpu(SoftGpuOptions? gpu = null) =>
        new($"test{Interlocked.Increment(ref s_devices)}", gpu ?? new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromSeconds(20) });

    /// <summary>An admin request, as the control socket sends it.</summary>
    public ControlProtocol.Response Admin(ControlProtocol.Request request) =>
        Registry.Ask<ControlProtocol.Response>(request, Timeout).GetAwaiter().GetResult();

    private static int s_devices;

    public HostSettings Settings { get; }

    public IGpuDevice Device { get; }

    public IActorRef Host { get; }

    /// <summary>Where admin requests go (status, evict, set), as the control socket sends them.</summary>
    public IActorRef Registry => Host;

    /// <summary>The registry's status (the same as `pvdrm-host status`).</summary>
    public ControlProtocol.HostStatus Status() =>
        Registry.Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), Timeout).GetAwaiter().GetResult().Status!;

    public ControlProtocol.GuestStatus GuestStatus(string name) => Status().Guests.Single(g => g.Name == name);

    /// <summary>A new guest connection, admitted; on the shared-memory ring unless <paramref name="ring"/> is false.</summary>
    public Task<DrmClient> ConnectAsync(string? name = null, string token = "", bool ring = true)
    {
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        Host.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(hostEnd, Settings.Connection)));
        return DrmClient.ConnectAsync(new SeqPacketConnection(guestEnd, new ConnectionOptions()),
            new DrmClientOptions { Name = name ?? $"guest-{Interlocked.Increment(ref _guests)}", Token = token, Ring = ring }).WaitAsync(Timeout);
    }

    /// <summary>The raw guest end of a new connection, for tests that speak bytes.</summary>
    public FileDescriptor ConnectRaw()
    {
        var (hostEnd, guestEnd) = UnixSocket.Pair();
        Host.Tell(new AdmissionProtocol.Accept(new SeqPacketConnection(hostEnd, Settings.Connection)));
        return guestEnd;
    }

    /// <summary>Waits until the device holds exactly <paramref name="buffers"/> buffers (<paramref name="extra"/> channels).</summary>
    public void AwaitDevice(long buffers, long extra) => _kit.AwaitAssert(() =>
    {
        var stats = Device.GetStats();
        Assert.Equal(buffers, stats.LiveBuffers);
        Assert.Equal(extra, stats.LiveChannels);
    }, Timeout, Poll);

    /// <summary>Waits until the device holds nothing: every buffer and channel released.</summary>
    public void AwaitDeviceEmpty() => _kit.AwaitAssert(() =>
    {
        var stats = Device.GetStats();
        Assert.Equal(0, stats.LiveBuffers);
        Assert.Equal(0, stats.LiveBytes);
        Assert.Equal(0, stats.LiveChannels);
    }, Timeout, Poll);
}
