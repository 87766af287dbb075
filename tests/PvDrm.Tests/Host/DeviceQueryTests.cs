using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

/// <summary>GET_VERSION, GET_PARAM and GET_CAP: answered by the guest's link, unless the device may block.</summary>
public class DeviceQueryTests : TestKit
{
    /// <summary>A SoftGpu that remembers which thread answered its last GET_PARAM.</summary>
    private sealed class Recording(IGpuDevice inner, bool mayBlock) : IGpuDevice
    {
        public string? ParamThread { get; private set; }

        public string Name => inner.Name;
        public DeviceInfo Info => inner.Info;
        public bool CallsMayBlock => mayBlock;

        public bool TryGetParam(ulong param, out ulong value)
        {
            ParamThread = Thread.CurrentThread.Name;
            return inner.TryGetParam(param, out value);
        }

        public bool TryGetCap(ulong cap, out ulong value) => inner.TryGetCap(cap, out value);
        public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags) => inner.CreateBuffer(size, domain, flags);
        public IGpuChannel CreateChannel() => inner.CreateChannel();
        public DeviceStats GetStats() => inner.GetStats();
        public void Dispose() => inner.Dispose();
    }

    private static Recording Device(bool mayBlock) =>
        new(new SoftGpu($"queries{Guid.NewGuid():N}", new SoftGpuOptions { Engines = 3 }), mayBlock);

    [Fact]
    public async Task Device_queries_are_answered_on_the_io_loop_and_counted_like_any_request()
    {
        var device = Device(mayBlock: false);
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync("asker");

        Assert.Equal("softgpu", (await client.GetVersionAsync()).Name);
        Assert.Equal(3UL, await client.GetParamAsync(DeviceParam.GraphUnits));
        Assert.Equal(1UL, await client.GetCapAsync(DeviceCap.DumbBuffer));
        var unknown = await Assert.ThrowsAsync<DrmException>(() => client.GetParamAsync(0xdead));

        Assert.Equal(Errno.EINVAL, unknown.Errno);
        Assert.Contains("not known to softgpu", unknown.Message);
        Assert.Equal("pvdrm-io", device.ParamThread);
        AwaitAssert(() => Assert.Equal(1, host.GuestStatus("asker").Errors.GetValueOrDefault("EINVAL")), HostHarness.Timeout, HostHarness.Poll);
    }

    [Fact]
    public async Task A_device_whose_calls_may_block_is_asked_from_an_actor_not_the_io_loop()
    {
        var device = Device(mayBlock: true);
        var host = new HostHarness(this, device: device);
        await using var client = await host.ConnectAsync();

        Assert.Equal(3UL, await client.GetParamAsync(DeviceParam.GraphUnits));

        Assert.NotEqual("pvdrm-io", device.ParamThread);
    }
}
