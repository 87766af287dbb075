using PvDrm.Native.Interop;

namespace PvDrm.Protocol;

/// <summary>
/// The one validator every frame passes before anything acts on it: header, length, flags, op,
/// context rule, body size, then the op's own reader (counts, ranges, trailing bytes). It works
/// on bytes already copied out of the socket, so what is checked is what is used.
/// </summary>
public static class FrameDecoder
{
    /// <summary>Validates and decodes one request frame against <paramref name="limits"/>: false with the error (fatal, or an errno refusal) when it is not acceptable.</summary>
    public static bool TryDecodeRequest(ReadOnlySpan<byte> frame, ProtocolLimits limits, out Request? request, out FrameError error)
    {
        request = null;
        error = default;
        if (frame.Length < FrameHeader.Size)
            return Fail(out error, fatal: true, default, Errno.EPROTO, $"frame of {frame.Length} bytes is shorter than the {FrameHeader.Size}-byte header");

        var header = FrameHeader.Read(frame);
        if (header.Length != (uint)frame.Length)
            return Fail(out error, fatal: true, header, Errno.EPROTO, $"header says {header.Length} bytes but the frame has {frame.Length}");
        if (frame.Length > limits.MaxFrame)
            return Fail(out error, fatal: true, header, Errno.EMSGSIZE, $"frame of {frame.Length} bytes exceeds the maximum of {limits.MaxFrame}");

        var spec = OpTable.Find(header.Op);
        if (spec == null)
            return Fail(out error, false, header, Errno.EOPNOTSUPP, $"{OpTable.NameOf(header.Op)} is not an operation this host supports");
        if ((header.Flags & ~FrameFlags.NoReply) != 0)
            return Fail(out error, false, header, Errno.EINVAL, $"{spec.Name}: flags 0x{(ushort)header.Flags:x} are not valid on a request (only NO_REPLY=0x2)");

        switch (spec.Context)
        {
            case ContextRule.None when header.Context != 0:
                return Fail(out error, false, header, Errno.EINVAL, $"{spec.Name} must be sent with context 0, not {header.Context}");
            case ContextRule.Required when header.Context == 0:
                return Fail(out error, false, header, Errno.EINVAL, $"{spec.Name} needs a context (header context is 0)");
        }

        var body = frame[FrameHeader.Size..];
        if (body.Length < spec.MinBody)
            return Fail(out error, false, header, Errno.EINVAL, $"{spec.Name} needs at least {spec.MinBody} bytes of body, got {body.Length}");
        if (spec.FixedBody >= 0 && body.Length > spec.FixedBody)
            return Fail(out error, false, header, Errno.EINVAL, $"{spec.Name} has {body.Length - spec.FixedBody} trailing bytes after its {spec.FixedBody}-byte body");

        var reader = new WireReader(body);
        var decoded = spec.Read(ref reader, limits, out var refusal);
        if (decoded == null)
            return Fail(out error, false, header, refusal.Errno, refusal.Message);

        decoded.Stamp(header);
        request = decoded;
        return true;
    }

    private static bool Fail(out FrameError error, bool fatal, FrameHeader header, int errno, string message)
    {
        error = new FrameError(fatal, header, errno, message);
        return false;
    }
}
