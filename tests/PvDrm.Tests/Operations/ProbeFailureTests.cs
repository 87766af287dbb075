using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using PvDrm.Actors;
using PvDrm.Actors.Host;
using PvDrm.Actors.Host.Control;
using PvDrm.Native.Gpu;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// The 503 side of the metrics listener's probes, each caused for real and read over HTTP:
/// <c>/healthz</c> when the host's actors do not answer a status request (a device call that
/// hangs), <c>/readyz</c> once a shutdown has begun and before the sockets close.
/// </summary>
public class ProbeFailureTests : TestKit
{
    /// <summary>A SoftGpu whose statistics call hangs while stalled, as a stuck driver call would.</summary>
    private sealed class StallingStats(IGpuDevice inner) : IGpuDevice
    {
        private readonly ManualResetEventSlim _running = new(initialState: true);

        public void Stall() => _running.Reset();

        public void Resume() => _running.Set();

        public string Name => inner.Name;
        public DeviceInfo Info => inner.Info;
        public bool CallsMayBlock => inner.CallsMayBlock;
        public bool TryGetParam(ulong param, out ulong value) => inner.TryGetParam(param, out value);
        public bool TryGetCap(ulong cap, out ulong value) => inner.TryGetCap(cap, out value);
        public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => inner.CreateBuffer(size, domain, flags);
        public IGpuChannel CreateChannel() => inner.CreateChannel();

        public DeviceStats GetStats()
        {
            _running.Wait(HostHarness.Timeout); // the deadline only bounds a test that forgot to resume
            return inner.GetStats();
        }

        public void Dispose()
        {
            Resume();
            inner.Dispose();
        }
    }

    [Fact]
    public async Task Healthz_says_503_while_the_hosts_actors_do_not_answer_and_200_again_once_they_do()
    {
        var device = new StallingStats(HostHarness.NewSoftGpu());
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, MetricsListen = "127.0.0.1:0" }, device: device);
        string root = host.Status().MetricsUrl![..^"metrics".Length];
        using var http = new HttpClient { Timeout = HostHarness.Timeout };

        device.Stall(); // the registry's next status request hangs in the device
        try
        {
            var (code, body) = await Get(http, root + "healthz");
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "the host did not answer a status request in time\n"), (code, body));
            // Readiness is about sockets and devices, not about answering: still ready.
            Assert.Equal((HttpStatusCode.OK, "ok\n"), await Get(http, root + "readyz"));
        }
        finally
        {
            device.Resume();
        }
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await Get(http, root + "healthz"));
    }

    [Fact]
    public async Task Readyz_says_503_once_a_shutdown_has_begun_while_the_listener_still_answers()
    {
        // A system of its own: the test runs its coordinated shutdown.
        var system = ActorSystem.Create("readyz", PvDrmConfig.Reference);
        try
        {
            var host = system.ActorOf(PvDrmHost.Props(new HostSettings { ListenUnix = null, MetricsListen = "127.0.0.1:0" }, HostHarness.NewSoftGpu()));
            var status = await host.Ask<ControlProtocol.Response>(new ControlProtocol.Request("status"), HostHarness.Timeout);
            string root = status.Status!.MetricsUrl![..^"metrics".Length];
            using var http = new HttpClient { Timeout = HostHarness.Timeout };
            Assert.Equal((HttpStatusCode.OK, "ok\n"), await Get(http, root + "readyz"));

            // Hold the shutdown at service-unbind (after the host said it is not ready, before anything stops).
            var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var shutdown = CoordinatedShutdown.Get(system);
            shutdown.AddTask(CoordinatedShutdown.PhaseServiceUnbind, "test-hold", async () =>
            {
                held.SetResult();
                await release.Task;
                return Akka.Done.Instance;
            });
            var stopping = shutdown.Run(CoordinatedShutdown.UnknownReason.Instance);
            await held.Task.WaitAsync(HostHarness.Timeout);
            try
            {
                Assert.Equal((HttpStatusCode.ServiceUnavailable, "not serving guests: the host is stopping\n"), await Get(http, root + "readyz"));
            }
            finally
            {
                release.SetResult();
            }
            await stopping.WaitAsync(HostHarness.Timeout);
        }
        finally
        {
            await system.Terminate().WaitAsync(HostHarness.Timeout);
        }
    }

    private static async Task<(HttpStatusCode, string)> Get(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
