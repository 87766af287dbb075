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
/// exactly: the proxy keeps them as isolated as guests (issue 16, attacks 9 and 10). Pooled buffers and
/// idle render-node files here; the host link in <see cref="ProxyUpstreamTests"/>, names in <see cref="ProxyNamingTests"/>.
/// </summary>
public class ProxyIsolationTests : ProxyTestKit
{
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

    [ShimFact]
    public async Task Idle_render_node_files_use_no_host_context_and_a_program_still_runs()
    {
        var host = UnixHost(new SoftGpuOptions { Personality = SoftGpuPersonality.Nouveau });
        AwaitCondition(() => File.Exists(Dir["host.sock"]), HostHarness.Timeout, HostHarness.Poll);
        await ProxyAsync(host, new ProxySettings { Host = $"unix:{Dir["host.sock"]}", Name = "vm", ShimUnix = $"unix:{Dir["drm.sock"]}" });
        AwaitCondition(() => File.Exists(Dir["drm.sock"]), HostHarness.Timeout, HostHarness.Poll); // the render node listens a moment after the proxy
        // More open files than the guest may have contexts (pvdrm.host.limits.contexts-per-guest = 64).
        var idle = Enumerable.Range(0, 80).Select(_ => Native.Io.UnixSocket.Connect(Dir["drm.sock"])).ToList();
        try
        {
            using var run = ShimProgram.Start(Dir["drm.sock"], ShimPrograms.Core, "core");
            int code = await run.ExitAsync(HostHarness.Timeout);

            Assert.True(code == 0, $"shim_core core exited {code}:\n{run.Output}");
            AwaitCondition(() => host.GuestStatus("vm").Contexts == 0, HostHarness.Timeout, HostHarness.Poll);
        }
        finally
        {
            foreach (var fd in idle) fd.Dispose();
        }
    }
}
