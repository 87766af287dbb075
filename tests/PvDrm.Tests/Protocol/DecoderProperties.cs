using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PvDrm.Protocol;

namespace PvDrm.Tests.Protocol;

/// <summary>Generated input: the decoder never throws and never accepts what it cannot re-encode.</summary>
public class DecoderProperties
{
    private static readonly Request[] Valid = CodecTests.EveryRequest().Cast<object[]>().Select(row => (Request)row[0]).ToArray();

    [Property(MaxTest = 2000)]
    public void Random_bytes_never_crash_the_decoder_and_are_refused_or_round_trip(byte[] bytes)
    {
        bool ok = FrameDecoder.TryDecodeRequest(bytes, ProtocolLimits.Default, out var request, out var error);
        if (!ok)
        {
            Assert.False(string.IsNullOrEmpty(error.Message));
            return;
        }
        // Accepted input may have been zero-extended; from then on encoding is stable.
        var encoded = FrameEncoder.EncodeRequest(request!);
        Assert.True(FrameDecoder.TryDecodeRequest(encoded, ProtocolLimits.Default, out var again, out _));
        Assert.Equal(encoded, FrameEncoder.EncodeRequest(again!));
    }

    [Property(MaxTest = 5000)]
    public Property Mutated_valid_frames_are_refused_with_a_reason_or_decode_to_something_encodable()
    {
        var mutation =
            from index in Gen.Choose(0, Valid.Length - 1)
            from position in Gen.Choose(0, 4096)
            from value in Gen.Choose(0, 255)
            from cut in Gen.Choose(0, 8)
            select (index, position, (byte)value, cut);
        return Prop.ForAll(mutation.ToArbitrary(), m =>
        {
            var frame = FrameEncoder.EncodeRequest(Valid[m.index]);
            frame[m.position % frame.Length] = m.Item3;
            // Sometimes truncate, fixing the length field so the body checks are reached.
            if (m.cut > 0 && frame.Length > FrameHeader.Size + m.cut)
            {
                Array.Resize(ref frame, frame.Length - m.cut);
                BitConverter.GetBytes((uint)frame.Length).CopyTo(frame, 0);
            }
            bool ok = FrameDecoder.TryDecodeRequest(frame, ProtocolLimits.Default, out var request, out var error);
            return ok
                ? FrameEncoder.RequestSize(request!) <= frame.Length + 24 // zero-extension may grow a body to its full layout
                : error.Errno > 0 && error.Message.Length > 0;
        });
    }
}
