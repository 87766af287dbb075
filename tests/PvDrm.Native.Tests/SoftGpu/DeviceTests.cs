using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>Options, what the device reports, and buffer creation and access rules.</summary>
public class DeviceTests
{
    public static TheoryData<string, SoftGpuOptions> BadOptions() => new()
    {
        { "Engines", new SoftGpuOptions { Engines = 0 } },
        { "Engines", new SoftGpuOptions { Engines = SoftGpuOptions.MaxEngines + 1 } },
        { "MemoryBytes", new SoftGpuOptions { MemoryBytes = 100 } },
        { "MaxBufferBytes", new SoftGpuOptions { MaxBufferBytes = 1UL << 31 } },
        { "MaxCommandBytes", new SoftGpuOptions { MaxCommandBytes = 0 } },
        { "SemaphoreTimeout", new SoftGpuOptions { SemaphoreTimeout = TimeSpan.Zero } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_out_of_range_are_refused_naming_the_property(string property, SoftGpuOptions options)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new Gpu.Soft.SoftGpu("bad", options));
        Assert.Equal(property, error.ParamName);
    }

    [Fact]
    public void The_defaults_are_one_engine_per_core_and_the_documented_limits()
    {
        var options = new SoftGpuOptions();
        Assert.Equal((Environment.ProcessorCount, 4UL << 30, 1UL << 30, 1 << 20, TimeSpan.FromSeconds(2)),
            (options.Engines, options.MemoryBytes, options.MaxBufferBytes, options.MaxCommandBytes, options.SemaphoreTimeout));
    }

    [Fact]
    public void It_reports_its_version_params_and_caps()
    {
        using var gpu = new Gpu.Soft.SoftGpu("soft0", new SoftGpuOptions { Engines = 3, MemoryBytes = 1UL << 30 });

        Assert.Equal(new DeviceInfo("softgpu", 1, 0, 0, "20261125", "PvDrm SoftGpu: memfd buffers, CPU engines"), gpu.Info);
        Assert.False(gpu.CallsMayBlock);
        Assert.Equal("soft0", gpu.Name);
        var expected = new (ulong Param, ulong Value)[]
        {
            (DeviceParam.PciVendor, 0), (DeviceParam.PciDevice, 0), (DeviceParam.BusType, 4), (DeviceParam.FbSize, 1UL << 30),
            (DeviceParam.AgpSize, 1UL << 30), (DeviceParam.ChipsetId, 0), (DeviceParam.VmVaddrBase, 0), (DeviceParam.GraphUnits, 3),
            (DeviceParam.HasBoUsage, 1), (DeviceParam.HasPageflip, 0),
        };
        foreach (var (param, value) in expected)
        {
            Assert.True(gpu.TryGetParam(param, out ulong got), $"param {param}");
            Assert.Equal(value, got);
        }
        Assert.True(gpu.TryGetParam(DeviceParam.PtimerTime, out ulong t1));
        Assert.True(gpu.TryGetParam(DeviceParam.PtimerTime, out ulong t2));
        Assert.True(t1 > 0 && t2 >= t1);
        Assert.False(gpu.TryGetParam(999, out _));

        Assert.True(gpu.TryGetCap(DeviceCap.DumbBuffer, out ulong dumb) && dumb == 1);
        Assert.True(gpu.TryGetCap(DeviceCap.Prime, out ulong prime) && prime == (DeviceCap.PrimeImport | DeviceCap.PrimeExport));
        Assert.True(gpu.TryGetCap(DeviceCap.TimestampMonotonic, out ulong monotonic) && monotonic == 1);
        Assert.False(gpu.TryGetCap(DeviceCap.SyncObj, out _));
    }

    [Fact]
    public async Task Engine_threads_are_named_after_the_device()
    {
        using var gpu = new Gpu.Soft.SoftGpu("named", new SoftGpuOptions { Engines = 1 });
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);
        var w = new SoftCommandWriter();
        w.SemaphoreAcquire(0, 0, 1);
        var fence = gpu.CreateChannel().Submit(Soft.Inline(w, (buffer, BufferAccess.Read)));
        string? thread = null;
        fence.OnSignaled(_ => thread = Thread.CurrentThread.Name); // registered before it can signal

        Soft.WriteU32(buffer, 0, 1);
        await Soft.Done(fence);

        Assert.Equal("softgpu-named-0", thread);
    }

    [Fact]
    public void Buffers_are_whole_zeroed_pages_of_a_memfd()
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(5000, GemDomain.None, 0);

        Assert.Equal(8192UL, buffer.Size);
        Assert.Equal(GemDomain.Vram, buffer.Domain);
        Assert.Equal(8192UL, MemFd.SizeOf(buffer.Fd));
        var bytes = new byte[8192];
        buffer.Read(0, bytes);
        Assert.All(bytes, b => Assert.Equal(0, b));
        Assert.Equal(new DeviceStats(1, 8192, 0, 0, 0, 0, 0), gpu.GetStats());
        buffer.Release();
    }

    [Fact]
    public void Buffer_sizes_outside_the_limits_are_refused()
    {
        using var gpu = new Gpu.Soft.SoftGpu("limits", new SoftGpuOptions { Engines = 1, MaxBufferBytes = 10_000 });

        Assert.Equal(Errno.EINVAL, Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(0, GemDomain.Vram, 0)).Errno);
        Assert.Equal(Errno.E2BIG, Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(10_001, GemDomain.Vram, 0)).Errno);
        Assert.Equal(Errno.E2BIG, Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(9_000, GemDomain.Vram, 0)).Errno); // 12288 once rounded
        Assert.Equal(Errno.E2BIG, Assert.Throws<ErrnoException>(() => gpu.CreateBuffer(ulong.MaxValue, GemDomain.Vram, 0)).Errno);
        gpu.CreateBuffer(8192, GemDomain.Vram, 0).Release();
        Assert.Equal(0, gpu.GetStats().LiveBuffers);
    }

    [Theory]
    [InlineData(4093UL, 4)]
    [InlineData(4097UL, 0)]
    [InlineData(ulong.MaxValue, 1)]
    [InlineData(ulong.MaxValue - 2, 4)]
    public void Reads_and_writes_outside_a_buffer_are_EINVAL(ulong offset, int length)
    {
        using var gpu = Soft.Device();
        var buffer = gpu.CreateBuffer(4096, GemDomain.Vram, 0);

        var read = Assert.Throws<ErrnoException>(() => buffer.Read(offset, new byte[length]));
        var write = Assert.Throws<ErrnoException>(() => buffer.Write(offset, new byte[length]));

        Assert.Equal((Errno.EINVAL, Errno.EINVAL), (read.Errno, write.Errno));
        Assert.Contains("outside the 4096-byte buffer", read.Message);
        buffer.Write(4092, new byte[4]); // the last word is inside
        buffer.Read(4096, Span<byte>.Empty);
        buffer.Release();
    }
}
