using System.Buffers.Binary;
using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Integration;

/// <summary>A guest sending what no client would: each gets a clear errno and message, and nobody else notices.</summary>
public class BadInputTests : TestKit
{
    private readonly HostHarness _host;

    public BadInputTests() => _host = new HostHarness(this);

    public static TheoryData<string, byte[], int, string> BadRequests() => new()
    {
        { "unknown op", Raw(0x0099, 1, new byte[8]), Errno.EOPNOTSUPP, "op 0x0099" },
        { "unknown handle", FrameEncoder.EncodeRequest(new GemInfo(77) { RequestId = 9, Context = 1 }), Errno.ENOENT, "handle 77" },
        { "reused handle", FrameEncoder.EncodeRequest(new GemNew(1, GemDomain.Vram, 4096, 0) { RequestId = 9, Context = 1 }), Errno.EEXIST, "already in use" },
        { "wrong context", FrameEncoder.EncodeRequest(new GemInfo(1) { RequestId = 9, Context = 5 }), Errno.ENOENT, "context 5 is not open" },
        { "huge buffer", FrameEncoder.EncodeRequest(new GemNew(2, GemDomain.Vram, ulong.MaxValue, 0) { RequestId = 9, Context = 1 }), Errno.E2BIG, "exceeds" },
        { "pushbuf on a channel that does not exist", FrameEncoder.EncodeRequest(new Requests.Pushbuf(9, [], [], new byte[4]) { RequestId = 9, Context = 1 }), Errno.ENOENT, "channel 9" },
        { "trailing bytes", Raw((ushort)Op.GemInfo, 1, new byte[20]), Errno.EINVAL, "trailing" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_gets_a_clear_error_and_the_host_carries_on(string what, byte[] frame, int errno, string mentions)
    {
        await using var bystander = await _host.ConnectAsync("bystander");
        var ctx = await bystander.OpenContextAsync();
        using var raw = RawGuest.Admitted(_host, "mallory");
        raw.Send(FrameEncoder.EncodeRequest(new OpenContext(0) { RequestId = 2, Context = 1 }));
        Assert.Equal(0, raw.Receive().Status);
        raw.Send(FrameEncoder.EncodeRequest(new GemNew(1, GemDomain.Vram, 4096, 0) { RequestId = 3, Context = 1 }));
        Assert.Equal(0, raw.Receive().Status);

        raw.Send(frame);
        var reply = raw.Receive();
        Assert.Equal(-errno, reply.Status);
        Assert.Contains(mentions, reply.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(9u, reply.Header.RequestId);

        // The same connection still works, and so does everyone else.
        raw.Send(FrameEncoder.EncodeRequest(new GemInfo(1) { RequestId = 10, Context = 1 }));
        Assert.Equal(0, raw.Receive().Status);
        await Verified.FillAndCheck(ctx, 0xABCD0000u | (uint)what.Length);
    }

    public static TheoryData<string, byte[]> BrokenStreams() => new()
    {
        { "length field larger than the frame", WithLength(FrameEncoder.EncodeRequest(new GetVersion { RequestId = 9 }), 1000) },
        { "length field smaller than the frame", WithLength(FrameEncoder.EncodeRequest(new GetVersion { RequestId = 9 }), 4) },
        { "truncated header", new byte[] { 16, 0, 0, 0, 0x10 } },
        { "frame over the size limit", Raw((ushort)Op.GemWrite, 1, new byte[300 * 1024]) },
    };

    [Theory]
    [MemberData(nameof(BrokenStreams))]
    public async Task A_broken_stream_ends_that_connection_only(string what, byte[] frame)
    {
        await using var bystander = await _host.ConnectAsync("bystander");
        var ctx = await bystander.OpenContextAsync();
        using var raw = RawGuest.Admitted(_host, "mallory");
        raw.Send(FrameEncoder.EncodeRequest(new OpenContext(0) { RequestId = 2, Context = 1 }));
        raw.Receive();
        raw.Send(FrameEncoder.EncodeRequest(new GemNew(1, GemDomain.Vram, 4096, 0) { RequestId = 3, Context = 1 }));
        raw.Receive();

        raw.TrySend(frame);

        Assert.True(raw.IsClosed(), what);
        _host.AwaitDevice(buffers: 0, extra: 0); // mallory's buffer is gone, none of the bystander's yet
        await Verified.FillAndCheck(ctx, 0x600D);
    }

    private static byte[] Raw(ushort op, uint context, byte[] body)
    {
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader((uint)frame.Length, (Op)op, FrameFlags.None, 9, context).Write(frame);
        body.CopyTo(frame, FrameHeader.Size);
        return frame;
    }

    private static byte[] WithLength(byte[] frame, uint length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, length);
        return frame;
    }
}
