using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;
using PvDrm.Native.Interop;
using PvDrm.Native.Memory;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Security;

/// <summary>
/// A protocol-aware fuzzer against a live host: after a valid HELLO, sequences of well-formed
/// requests whose fields are mutated towards the edges (sizes near the quota and near 2^32 and
/// 2^64, handles and contexts at and past their limits, other guests' global names, PRIME
/// descriptors with odd seals or of the wrong kind). Where <see cref="FuzzTests"/> checks the
/// decoder with broken bytes, this one reaches the actors' arithmetic and bookkeeping. After each
/// fuzzing guest leaves, the host's counters, its buffer descriptors and its buffer mappings must
/// be back at the baseline, and a bystander's object must hold exactly what it wrote.
/// </summary>
public class ProtocolFuzzTests : TestKit
{
    private const ulong Quota = 1 << 20;
    private const ulong Seed = 20261203;
    private const int Rounds = 30, RequestsPerRound = 160;

    private static readonly ulong[] Sizes =
    [
        0, 1, 4095, 4096, Quota - 1, Quota, Quota + 1, Quota / 2 + 1, uint.MaxValue, (ulong)uint.MaxValue + 1,
        long.MaxValue, 1UL << 63, ulong.MaxValue - 4095, ulong.MaxValue,
    ];

    private static readonly uint[] Ids = [0, 1, 2, 3, 4, 7, 63, 64, 65, 65535, 65536, int.MaxValue, uint.MaxValue - 1, uint.MaxValue];

    private enum Edge { Unsealed, ShrinkSealed, WriteSealed, FutureWriteSealed, SealSealed, NotSealable, Eventfd }

    [Fact]
    public async Task Mutated_well_formed_requests_leave_nothing_behind_and_touch_no_other_guest()
    {
        var host = new HostHarness(this, new HostSettings { ListenUnix = null, MemoryPerGuest = Quota, HandlesPerContext = 64, ContextsPerGuest = 4, ChannelsPerGuest = 4 },
            new SoftGpuOptions { Engines = 2, SemaphoreTimeout = TimeSpan.FromMilliseconds(50) });
        string device = host.Device.Name;
        int baselineMaps = Leaks.BufferMappings(device);

        // The bystander keeps one exported buffer with a known pattern through every round.
        await using var bystander = await host.ConnectAsync("bystander");
        var context = await bystander.OpenContextAsync();
        var kept = await context.GemNewAsync(4096);
        byte[] pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        await kept.WriteAsync(0, pattern);
        uint keptName = await kept.ExportAsync();
        var baseline = host.Device.GetStats();

        var random = new Random((int)Seed);
        for (int round = 0; round < Rounds; round++)
        {
            using (var fuzzer = RawGuest.Admitted(host, $"fuzz-{round}"))
            {
                for (int i = 0; i < RequestsPerRound; i++)
                {
                    var (frame, fd) = NextRequest(random, keptName, device);
                    using (fd)
                        if (!fuzzer.TrySendWithFd(frame, fd)) break;
                    fuzzer.DrainReplies();
                }
                fuzzer.DrainReplies();
            }

            // The fuzzer has gone: only the bystander's buffer is left, with its bytes intact.
            string where = $"seed {Seed}, round {round}";
            AwaitAssert(() =>
            {
                var stats = host.Device.GetStats();
                Assert.True(stats.LiveBuffers == baseline.LiveBuffers, $"{where}: {stats.LiveBuffers} buffers live, {baseline.LiveBuffers} expected");
                Assert.True(stats.LiveBytes == baseline.LiveBytes, $"{where}: {stats.LiveBytes} bytes live, {baseline.LiveBytes} expected");
                Assert.True(stats.LiveChannels == 0, $"{where}: {stats.LiveChannels} channels left");
                Assert.True(host.Status().Guests.All(g => g.Name == "bystander"), $"{where}: a fuzzing guest is still listed");
                // The bystander's one buffer may be backed (one memfd, at most one mapping); nothing else.
                Assert.True(Leaks.BufferFds(device) <= 1, $"{where}: {Leaks.BufferFds(device)} buffer memfds open");
                Assert.True(Leaks.BufferMappings(device) <= baselineMaps + 1, $"{where}: {Leaks.BufferMappings(device)} buffer mappings");
                Assert.True(ImportFds(device) == 0, $"{where}: {ImportFds(device)} imported descriptors still open");
                Assert.True(ImportMappings(device) == 0, $"{where}: {ImportMappings(device)} imported descriptors still mapped");
            }, HostHarness.Timeout, HostHarness.Poll);
            var back = new byte[4096];
            await kept.ReadAsync(0, back);
            Assert.True(back.AsSpan().SequenceEqual(pattern), $"seed {Seed}, round {round}: the bystander's buffer changed");
            await Verified.FillAndCheck(context, (uint)round);
        }
    }

    /// <summary>One well-formed request with mutated fields, and the descriptor to pass with it.</summary>
    private static (byte[] Frame, FileDescriptor? Fd) NextRequest(Random random, uint bystanderName, string device)
    {
        uint ctx = Pick<uint>(random, [0, 1, 2, 3, 4, 5, uint.MaxValue]);
        uint handle = random.Next(3) == 0 ? Pick(random, Ids) : (uint)random.Next(1, 6);
        ulong size = random.Next(3) == 0 ? Pick(random, Sizes) : (ulong)random.Next(1, 65536);
        ulong offset = random.Next(2) == 0 ? Pick(random, Sizes) : (ulong)random.Next(0, 8192);
        Request request = random.Next(16) switch
        {
            0 => new OpenContext(0),
            1 => new CloseContext(),
            2 or 3 => new GemNew(handle, GemDomain.Vram | GemDomain.Mappable, size, 0),
            4 => new GemClose(handle),
            5 => new GemMap(handle),
            6 => new GemRead(handle, offset, (uint)Math.Min(size, 64 * 1024)),
            7 => new GemWrite(handle, offset, new byte[random.Next(0, 4096)]),
            8 => new GemExport(handle),
            // Names near the bystander's: another guest's objects, never importable without a sharing group.
            9 => new GemImport(bystanderName + (uint)random.Next(-2, 3), handle),
            10 => new PrimeExport(handle),
            11 => new PrimeImport(handle),
            12 => new ChannelAlloc(handle, 0),
            13 => new ChannelFree(handle),
            14 => new CpuPrep(handle, CpuPrepFlags.NoWait, 0),
            _ => Pushbuf(random, handle, offset, size),
        };
        request = request with { Context = ctx, RequestId = (uint)random.Next(1, int.MaxValue) };
        var frame = FrameEncoder.EncodeRequest(request);
        return (frame, request is PrimeImport ? OddDescriptor(random, size, device) : null);
    }

    private static Request Pushbuf(Random random, uint handle, ulong offset, ulong size)
    {
        var words = new SoftCommandWriter();
        switch (random.Next(3))
        {
            case 0: words.Fill(0, offset, size, 0xdeadbeef); break;
            case 1: words.Copy(0, offset, 0, size, (ulong)random.Next(0, 4096)); break;
            default: words.SemaphoreAcquire(0, offset & ~3UL, (uint)random.Next()); break;
        }
        byte[] inline = words.Written.ToArray();
        return new Requests.Pushbuf(handle, [new PushbufBuffer(handle, BufferAccess.ReadWrite)],
            [new PushEntry(PushEntry.InlineIndex, 0, (ulong)inline.Length)], inline);
    }

    /// <summary>A descriptor a guest might pass to PRIME_IMPORT: memfds with every seal, or not a memfd at all.</summary>
    private static FileDescriptor OddDescriptor(Random random, ulong size, string device)
    {
        var edge = (Edge)random.Next(Enum.GetValues<Edge>().Length);
        if (edge == Edge.Eventfd) return new FileDescriptor(Tmds.Linux.LibC.eventfd(0, Tmds.Linux.LibC.EFD_CLOEXEC));
        var fd = GuestMemFd.Create($"{ImportPrefix}{device}", Math.Min(size, 1 << 20), sealable: edge != Edge.NotSealable);
        int seals = edge switch
        {
            Edge.ShrinkSealed => Tmds.Linux.LibC.F_SEAL_SHRINK,
            Edge.WriteSealed => Tmds.Linux.LibC.F_SEAL_WRITE,
            Edge.FutureWriteSealed => GuestMemFd.F_SEAL_FUTURE_WRITE,
            Edge.SealSealed => Tmds.Linux.LibC.F_SEAL_SEAL,
            _ => 0,
        };
        if (seals != 0) GuestMemFd.AddSeals(fd, seals);
        return fd;
    }

    private static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];

    private const string ImportPrefix = "pvdrm-fuzz-import-";

    private static int ImportMappings(string device) => Leaks.Mappings($"/memfd:{ImportPrefix}{device} ");

    /// <summary>Descriptors of fuzzer-made memfds still open in this process (the host's duplicates).</summary>
    private static int ImportFds(string device) => Leaks.Fds($"/memfd:{ImportPrefix}{device} ");
}
