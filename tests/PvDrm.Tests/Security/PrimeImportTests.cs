using Akka.TestKit.Xunit2;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static Tmds.Linux.LibC;

namespace PvDrm.Tests.Security;

/// <summary>
/// PRIME_IMPORT of a memfd a guest made, as a guest racing its own descriptor would try it:
/// sealed before it is measured and charged, refused when it is write-sealed, never leaking a
/// host descriptor, and never a way to make the host's later use of the memory fail.
/// </summary>
public class PrimeImportTests : TestKit
{
    private readonly HostHarness _host;

    public PrimeImportTests() => _host = new HostHarness(this);

    [Theory]
    [InlineData("write-sealed")]
    [InlineData("future-write-sealed")]
    [InlineData("sealed-shut")]
    [InlineData("not-a-memfd")]
    public async Task An_unusable_descriptor_is_refused_and_leaves_no_host_descriptor(string kind)
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        var bystanderGem = await ctx.GemNewAsync(4096);
        string name = $"attack-{kind}";
        using var fd = GuestMemFd.Create(name, 64 * 1024);
        int seal = kind switch
        {
            "write-sealed" => F_SEAL_WRITE,
            "future-write-sealed" => GuestMemFd.F_SEAL_FUTURE_WRITE,
            "sealed-shut" => F_SEAL_SEAL,
            _ => 0,
        };
        if (seal != 0) Assert.Equal(0, fcntl(fd.Number, F_ADD_SEALS, seal));
        var (pipeRead, pipeWrite) = (new int[2], 0);
        FileDescriptor offered = fd;
        if (kind == "not-a-memfd")
        {
            unsafe
            {
                fixed (int* p = pipeRead) Assert.Equal(0, pipe2(p, O_CLOEXEC));
            }
            offered = new FileDescriptor(pipeRead[0]);
            pipeWrite = pipeRead[1];
        }
        int before = Leaks.MemFds(name);

        for (int i = 0; i < 5; i++)
        {
            var error = await Assert.ThrowsAsync<DrmException>(() => ctx.PrimeImportAsync(offered));
            Assert.True(error.Errno is Errno.EPERM or Errno.EINVAL, error.Message);
        }

        Assert.Equal(before, Leaks.MemFds(name));
        Assert.Equal(4096, _host.GuestStatus(client.Name).Bytes);
        await bystanderGem.WriteAsync(0, new byte[] { 9 }); // the session lives
        if (pipeWrite != 0)
        {
            offered.Dispose();
            close(pipeWrite);
        }
    }

    [Fact]
    public async Task An_imported_memfd_can_no_longer_be_resized_or_write_sealed_and_is_charged_its_size()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        using var fd = GuestMemFd.Create("imported", 4096);
        var gem = await ctx.PrimeImportAsync(fd);

        Assert.NotEqual(0, ftruncate(fd.Number, 1 << 30)); // growing: the host charged 4 KiB
        Assert.NotEqual(0, ftruncate(fd.Number, 0)); // shrinking: the host's mapping would fault
        Assert.NotEqual(0, fcntl(fd.Number, F_ADD_SEALS, F_SEAL_WRITE)); // the host must keep writing it
        Assert.Equal(4096, _host.GuestStatus(client.Name).Bytes);

        var channel = await ctx.ChannelAllocAsync();
        await ctx.FenceWaitAsync(await ctx.SubmitAsync(channel, Commands.Fill(gem, 0xBEEF)));
        var word = new byte[4];
        await gem.ReadAsync(4092, word);
        Assert.Equal(0xBEEFu, BitConverter.ToUInt32(word));
    }

    [Fact]
    public async Task A_guest_racing_ftruncate_is_charged_what_the_host_adopted()
    {
        await using var client = await _host.ConnectAsync();
        var ctx = await client.OpenContextAsync();
        for (int round = 0; round < 20; round++)
        {
            using var fd = GuestMemFd.Create("racing", 4096);
            using var stop = new CancellationTokenSource();
            // Flips the size until the host's seal stops it.
            var racer = Task.Run(() =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                    if (ftruncate(fd.Number, i % 2 == 0 ? 1 << 20 : 4096) != 0) return;
            });
            GemObject? gem = null;
            try
            {
                gem = await ctx.PrimeImportAsync(fd);
            }
            catch (DrmException e)
            {
                Assert.Fail($"round {round}: {e.Message}");
            }
            stop.Cancel();
            await racer;
            long size = (long)Native.Memory.MemFd.SizeOf(fd);
            Assert.Equal(size, _host.GuestStatus(client.Name).Bytes);
            Assert.Equal((ulong)size, gem!.Size);
            await gem.CloseAsync();
        }
    }
}
