using System.Buffers.Binary;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Shim;

/// <summary>
/// The preload shim against a fake proxy that answers with crafted replies (SHIM.md framing):
/// lengths that wrap 32-bit sums fail the call with EIO instead of reading past the reply buffer.
/// </summary>
public sealed class ShimReplyTests : IDisposable
{
    private readonly TempDir _dir = new();

    /// <summary>Replies in the order the program's calls come, on every connection.</summary>
    private static readonly byte[][] Replies =
    [
        // GET_CAP: arg_size 0xfffffff0, so 16 + arg_size wraps to 0 and the 32-byte message "fits".
        Reply(status: 0, argSize: 0xFFFFFFF0, blobSizes: [], message: 32, body: new byte[16]),
        // VERSION: a 64-byte argument and one string of 0xffffffff bytes: 84 + size wraps to 83.
        Reply(status: 0, argSize: 64, blobSizes: [0xFFFFFFFF], message: 9, body: new byte[64 + 8]),
        // GET_CAP, well-formed: capability 5 (PRIME), value 7.
        Reply(status: 0, argSize: 16, blobSizes: [], message: 0, body: [5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]),
    ];

    private static byte[] Reply(int status, uint argSize, uint[] blobSizes, ushort message, byte[] body)
    {
        var frame = new byte[16 + 4 * blobSizes.Length + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)frame.Length);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), status);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), argSize);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(12), (ushort)blobSizes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(14), message);
        for (int i = 0; i < blobSizes.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(16 + 4 * i), blobSizes[i]);
        body.CopyTo(frame, 16 + 4 * blobSizes.Length);
        return frame;
    }

    private sealed class FakeProxy(Connection connection) : IFrameHandler
    {
        private int _next;

        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            if (_next < Replies.Length) connection.Send(Replies[_next++]);
            else connection.Close("no more crafted replies");
        }

        public void OnClosed(string reason) { }
    }

    [ShimFact]
    public async Task Replies_whose_lengths_wrap_fail_the_call_with_eio_and_read_nothing_outside_the_reply()
    {
        string socket = _dir["fake-proxy.sock"];
        using var listener = new UnixListener(socket, Convert.ToUInt32("600", 8), (fd, peer) =>
        {
            var connection = new SeqPacketConnection(fd, new ConnectionOptions(), peer: peer);
            connection.Start(new FakeProxy(connection));
        });
        using var run = ShimProgram.Start(socket, ShimPrograms.Core, "bad-replies");

        int code = await run.ExitAsync(ShimHostFixture.Timeout);

        Assert.True(code == 0, $"shim_core bad-replies exited {code}:\n{run.Output}");
        Assert.Contains("ok bad-replies", run.Output);
    }

    public void Dispose() => _dir.Dispose();
}
