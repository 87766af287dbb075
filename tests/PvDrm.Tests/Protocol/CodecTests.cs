using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Tests.Protocol;

public class CodecTests
{
    /// <summary>One instance of every request, with distinctive field values.</summary>
    public static TheoryData<Request> EveryRequest() => new()
    {
        new Hello(1, 0, 65536, "guest-1", "s3cret") { RequestId = 1 },
        new OpenContext(0) { RequestId = 2, Context = 3 },
        new CloseContext { RequestId = 3, Context = 3 },
        new GetVersion { RequestId = 4 },
        new GetParam(DeviceParam.ChipsetId) { RequestId = 5, Context = 9 },
        new GetCap(DeviceCap.Prime) { RequestId = 6 },
        new GemNew(7, GemDomain.Vram | GemDomain.Mappable, 1 << 20, 0) { RequestId = 7, Context = 3 },
        new GemInfo(7) { RequestId = 8, Context = 3 },
        new GemClose(7) { RequestId = 9, Context = 3, Flags = FrameFlags.NoReply },
        new GemMap(7) { RequestId = 10, Context = 3 },
        new GemRead(7, 4096, 512) { RequestId = 11, Context = 3 },
        new GemWrite(7, 12, new byte[] { 1, 2, 3, 4, 5 }) { RequestId = 12, Context = 3 },
        new CpuPrep(7, CpuPrepFlags.NoWait | CpuPrepFlags.Write, 1_000_000) { RequestId = 13, Context = 3 },
        new CpuFini(7) { RequestId = 14, Context = 3 },
        new ChannelAlloc(2, 0) { RequestId = 15, Context = 3 },
        new ChannelFree(2) { RequestId = 16, Context = 3 },
        new Requests.Pushbuf(2,
            new[] { new PushbufBuffer(7, BufferAccess.Read), new PushbufBuffer(8, BufferAccess.ReadWrite) },
            new[] { new PushEntry(PushEntry.InlineIndex, 0, 8), new PushEntry(1, 64, 16) },
            new byte[] { 0, 0, 1, 0, 0, 0, 1, 0 }) { RequestId = 17, Context = 3 },
        new FenceWait(5, 2_000_000_000, FenceWaitFlags.NoWait) { RequestId = 18, Context = 3 },
    };

    [Theory]
    [MemberData(nameof(EveryRequest))]
    public void Every_request_survives_an_encode_decode_round_trip(Request request)
    {
        var frame = FrameEncoder.EncodeRequest(request);

        Assert.True(FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out var decoded, out var error), error.Message);
        Assert.Equal(request.GetType(), decoded!.GetType());
        Assert.Equal(frame, FrameEncoder.EncodeRequest(decoded));
        Assert.Equal(request.Header, decoded.Header);
    }

    [Theory]
    [MemberData(nameof(EveryRequest))]
    public void Every_request_is_named_in_the_dispatch_table(Request request)
    {
        var spec = OpTable.Find(request.Op);
        Assert.NotNull(spec);
        Assert.DoesNotContain("op 0x", OpTable.NameOf(request.Op));
    }

    [Fact]
    public void A_gem_new_frame_has_the_documented_layout()
    {
        var frame = FrameEncoder.EncodeRequest(new GemNew(5, GemDomain.Gart, 0x10000, 0) { RequestId = 0x0A0B0C0D, Context = 2 });

        Assert.Equal(new byte[]
        {
            40, 0, 0, 0,            // length = 16 + 24
            0x20, 0x00,             // op GEM_NEW
            0x00, 0x00,             // flags
            0x0D, 0x0C, 0x0B, 0x0A, // request id
            2, 0, 0, 0,             // context
            5, 0, 0, 0,             // handle
            4, 0, 0, 0,             // domain GART
            0, 0, 1, 0, 0, 0, 0, 0, // size 0x10000
            0, 0, 0, 0,             // flags
            0, 0, 0, 0,             // reserved
        }, frame);
    }

    [Fact]
    public void A_reply_frame_carries_status_payload_and_message()
    {
        var buffer = new byte[128];
        int length = FrameEncoder.WriteReply(buffer, Op.GemInfo, 9, 3, -Errno.ENOENT, default, "no such handle");

        var reply = ReplyFrame.Parse(buffer.AsSpan(0, length), null, out var error);

        Assert.Null(error);
        Assert.Equal(new FrameHeader((uint)length, Op.GemInfo, FrameFlags.Reply, 9, 3), reply!.Header);
        Assert.Equal(-Errno.ENOENT, reply.Status);
        Assert.Equal("no such handle", reply.Message);
        Assert.Empty(reply.Payload);
    }

    [Fact]
    public void Reply_payloads_survive_a_round_trip()
    {
        var buffer = new byte[256];
        var info = new Replies.GemInfo(7, GemDomain.Vram, 8192, MapOffset.Of(7));
        int length = FrameEncoder.WriteReply(buffer, Op.GemNew, 1, 1, info);
        Assert.Equal(info, ReplyFrame.Parse(buffer.AsSpan(0, length), null, out _)!.Read<Replies.GemInfo>());

        var version = new Replies.Version(1, 2, 3, "softgpu", "20261125", "a device");
        Span<byte> payload = stackalloc byte[version.Size];
        var w = new WireWriter(payload);
        version.Write(ref w);
        length = FrameEncoder.WriteReply(buffer, Op.GetVersion, 2, 0, 0, payload, null);
        Assert.Equal(version, ReplyFrame.Parse(buffer.AsSpan(0, length), null, out _)!.Read<Replies.Version>());
    }

    [Fact]
    public void Long_messages_are_cut_at_a_character_boundary()
    {
        string message = new string('é', 2000); // two bytes each
        var buffer = new byte[4096];
        int length = FrameEncoder.WriteReply(buffer, Op.GemNew, 1, 1, -Errno.EINVAL, default, message);

        var reply = ReplyFrame.Parse(buffer.AsSpan(0, length), null, out _)!;
        Assert.Equal(FrameEncoder.MaxMessageBytes / 2, reply.Message!.Length);
        Assert.All(reply.Message, c => Assert.Equal('é', c));
    }

    [Fact]
    public void A_shorter_body_from_an_older_guest_is_zero_extended()
    {
        // CPU_PREP with only the handle: flags and timeout read as zero.
        var frame = FrameWords(Op.CpuPrep, 1, 7);

        Assert.True(FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out var request, out _));
        Assert.Equal(new CpuPrep(7, CpuPrepFlags.None, 0) { RequestId = 1, Context = 1 }, request);
    }

    public static TheoryData<string, byte[], int> MalformedFrames() => new()
    {
        { "unknown op", Frame((Op)0x77, 1, Array.Empty<byte>()), Errno.EOPNOTSUPP },
        { "trailing bytes", Frame(Op.GemInfo, 1, new byte[12]), Errno.EINVAL },
        { "body too short", Frame(Op.GemNew, 1, new byte[8]), Errno.EINVAL },
        { "context op without context", Frame(Op.GemInfo, 0, new byte[8]), Errno.EINVAL },
        { "HELLO with a context", Frame(Op.Hello, 4, new byte[16]), Errno.EINVAL },
        { "reply flag on a request", WithFlags(Frame(Op.GetVersion, 0, Array.Empty<byte>()), FrameFlags.Reply), Errno.EINVAL },
        { "pushbuf count past the limit", Frame(Op.Pushbuf, 1, Words(1, 100_000, 0, 0)), Errno.E2BIG },
        { "pushbuf counts that do not match the body", Frame(Op.Pushbuf, 1, Words(1, 2, 0, 0)), Errno.EINVAL },
        { "pushbuf buffer with no access", Frame(Op.Pushbuf, 1, Words(1, 1, 0, 0, 7, 0)), Errno.EINVAL },
        { "write length that lies", Frame(Op.GemWrite, 1, Words(7, 100, 0, 0)), Errno.EINVAL },
        { "HELLO name past the limit", Frame(Op.Hello, 0, Words(1, 0, 0, 0xFFFF)), Errno.E2BIG },
    };

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void A_malformed_request_is_refused_with_an_errno_and_a_message(string what, byte[] frame, int errno)
    {
        Assert.False(FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out _, out var error), what);
        Assert.False(error.Fatal, what);
        Assert.Equal(errno, error.Errno);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void A_frame_whose_length_field_lies_breaks_the_stream()
    {
        var frame = Frame(Op.GetVersion, 0, Array.Empty<byte>());
        frame[0] = 99;

        Assert.False(FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out _, out var error));
        Assert.True(error.Fatal);
        Assert.Equal(Errno.EPROTO, error.Errno);
    }

    [Fact]
    public void A_frame_shorter_than_a_header_breaks_the_stream()
    {
        Assert.False(FrameDecoder.TryDecodeRequest(new byte[7], ProtocolLimits.Default, out _, out var error));
        Assert.True(error.Fatal);
    }

    internal static byte[] Frame(Op op, uint context, params byte[] body)
    {
        var frame = new byte[FrameHeader.Size + body.Length];
        new FrameHeader((uint)frame.Length, op, FrameFlags.None, 1, context).Write(frame);
        body.CopyTo(frame, FrameHeader.Size);
        return frame;
    }

    private static byte[] FrameWords(Op op, uint context, params uint[] words) => Frame(op, context, Words(words));

    private static byte[] Words(params uint[] words) => words.SelectMany(BitConverter.GetBytes).ToArray();

    private static byte[] WithFlags(byte[] frame, FrameFlags flags)
    {
        BitConverter.GetBytes((ushort)flags).CopyTo(frame, 6);
        return frame;
    }
}
