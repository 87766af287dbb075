using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Protocol;

/// <summary>Which context id an operation may carry in its header.</summary>
public enum ContextRule
{
    /// <summary>Session operations: context must be 0.</summary>
    None,

    /// <summary>Device queries: any context (ignored).</summary>
    Any,

    /// <summary>Operations inside a context: non-zero.</summary>
    Required,
}

/// <summary>Reads an op's body; returns null and sets the refusal when the body is malformed.</summary>
public delegate Request? BodyReader(ref WireReader reader, ProtocolLimits limits, out (int Errno, string Message) refusal);

/// <summary>
/// One row of the dispatch table. <see cref="MinBody"/> is what a request must carry;
/// <see cref="FixedBody"/> (-1 for variable bodies) is the current layout, shorter bodies are
/// zero-extended up to it and longer ones refused.
/// </summary>
public sealed record OpSpec(Op Op, string Name, int MinBody, int FixedBody, ContextRule Context, BodyReader Read)
{
    /// <summary>The op takes a descriptor with its frame (PRIME_IMPORT); no other op may carry one.</summary>
    public bool TakesFd { get; init; }
}

/// <summary>The dispatch table: every operation a guest may send, with its name, sizes and reader.</summary>
public static class OpTable
{
    private static readonly OpSpec?[] s_specs = Build();

    /// <summary>The row for <paramref name="op"/>, or null for an unknown operation.</summary>
    public static OpSpec? Find(Op op) => (ushort)op < s_specs.Length ? s_specs[(ushort)op] : null;

    /// <summary>A readable name for any op value, known or not: "GEM_NEW", "op 0x1234".</summary>
    public static string NameOf(Op op) => Find(op)?.Name ?? op switch
    {
        Op.Shutdown => "SHUTDOWN",
        Op.Reclaim => "RECLAIM",
        _ => $"op 0x{(ushort)op:x4}",
    };

    /// <summary>Every operation the protocol defines.</summary>
    public static IEnumerable<OpSpec> All => s_specs.Where(s => s != null)!;

    private static OpSpec?[] Build()
    {
        var table = new OpSpec?[0x100];
        void Add(OpSpec spec) => table[(ushort)spec.Op] = spec;
        (int, string) ok = default;

        Add(new(Op.Hello, "HELLO", 16, -1, ContextRule.None, ReadHello));
        Add(new(Op.OpenContext, "OPEN_CONTEXT", 0, 8, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new OpenContext(r.U32()); }));
        Add(new(Op.CloseContext, "CLOSE_CONTEXT", 0, 0, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new CloseContext(); }));
        Add(new OpSpec(Op.RingAttach, "RING_ATTACH", 0, 8, ContextRule.None, ReadRingAttach) with { TakesFd = true });

        Add(new(Op.GetVersion, "GET_VERSION", 0, 0, ContextRule.Any,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new GetVersion(); }));
        Add(new(Op.GetParam, "GET_PARAM", 8, 8, ContextRule.Any,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new GetParam(r.U64()); }));
        Add(new(Op.GetCap, "GET_CAP", 8, 8, ContextRule.Any,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new GetCap(r.U64()); }));

        Add(new(Op.GemNew, "GEM_NEW", 16, 24, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new GemNew(r.U32(), (GemDomain)r.U32(), r.U64(), r.U32()); }));
        Add(HandleOp(Op.GemInfo, "GEM_INFO", h => new GemInfo(h)));
        Add(HandleOp(Op.GemClose, "GEM_CLOSE", h => new GemClose(h)));
        Add(HandleOp(Op.GemMap, "GEM_MAP", h => new GemMap(h)));
        Add(new(Op.GemRead, "GEM_READ", 16, 16, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) =>
            {
                e = ok;
                uint handle = r.U32(), length = r.U32();
                return new GemRead(handle, r.U64(), length);
            }));
        Add(new(Op.GemWrite, "GEM_WRITE", 16, -1, ContextRule.Required, ReadGemWrite));
        Add(new(Op.CpuPrep, "CPU_PREP", 4, 16, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new CpuPrep(r.U32(), (CpuPrepFlags)r.U32(), r.U64()); }));
        Add(HandleOp(Op.CpuFini, "CPU_FINI", h => new CpuFini(h)));

        Add(HandleOp(Op.GemExport, "GEM_EXPORT", h => new GemExport(h)));
        Add(new(Op.GemImport, "GEM_IMPORT", 8, 16, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new GemImport(r.U32(), r.U32(), (GemImportFlags)r.U32()); }));
        Add(HandleOp(Op.PrimeExport, "PRIME_EXPORT", h => new PrimeExport(h)));
        Add(HandleOp(Op.PrimeImport, "PRIME_IMPORT", h => new PrimeImport(h)) with { TakesFd = true });

        Add(new(Op.ChannelAlloc, "CHANNEL_ALLOC", 4, 8, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new ChannelAlloc(r.U32(), r.U32()); }));
        Add(HandleOp(Op.ChannelFree, "CHANNEL_FREE", c => new ChannelFree(c)));
        Add(new(Op.Pushbuf, "PUSHBUF", Requests.Pushbuf.FixedSize, -1, ContextRule.Required, ReadPushbuf));

        Add(new(Op.FenceWait, "FENCE_WAIT", 8, 24, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = ok; return new FenceWait(r.U64(), r.U64(), (FenceWaitFlags)r.U32()); }));
        return table;
    }

    /// <summary>Ops whose body is {u32 handle, u32 reserved}; the reserved word may be omitted.</summary>
    private static OpSpec HandleOp(Op op, string name, Func<uint, Request> create) =>
        new(op, name, 4, 8, ContextRule.Required,
            (ref WireReader r, ProtocolLimits _, out (int, string) e) => { e = default; return create(r.U32()); });

    private static Request? ReadHello(ref WireReader r, ProtocolLimits limits, out (int, string) refusal)
    {
        uint version = r.U32(), caps = r.U32(), maxFrame = r.U32();
        int nameLength = r.U16(), tokenLength = r.U16();
        refusal = default;
        if (nameLength > limits.MaxNameBytes || tokenLength > limits.MaxTokenBytes)
            return Refuse(out refusal, Errno.E2BIG,
                $"HELLO: name of {nameLength} bytes or token of {tokenLength} bytes exceeds {limits.MaxNameBytes}/{limits.MaxTokenBytes}");
        if (nameLength + tokenLength != r.Remaining)
            return Refuse(out refusal, Errno.EINVAL, $"HELLO: name and token lengths ({nameLength} + {tokenLength}) do not match the {r.Remaining} bytes that follow");
        string? name = r.Utf8(nameLength), token = r.Utf8(tokenLength);
        if (name == null || token == null) return Refuse(out refusal, Errno.EINVAL, "HELLO: name or token is not valid UTF-8");
        return new Hello(version, caps, maxFrame, name, token);
    }

    private static Request? ReadRingAttach(ref WireReader r, ProtocolLimits limits, out (int, string) refusal)
    {
        uint flags = r.U32();
        refusal = default;
        return flags != 0 ? Refuse(out refusal, Errno.EINVAL, $"RING_ATTACH: flags 0x{flags:x} are not defined (0)") : new RingAttach(flags);
    }

    private static Request? ReadGemWrite(ref WireReader r, ProtocolLimits limits, out (int, string) refusal)
    {
        uint handle = r.U32(), length = r.U32();
        ulong offset = r.U64();
        refusal = default;
        if (length != r.Remaining)
            return Refuse(out refusal, Errno.EINVAL, $"GEM_WRITE: length {length} does not match the {r.Remaining} data bytes that follow");
        // Copy out of the receive buffer: the request outlives this frame.
        return new GemWrite(handle, offset, r.Bytes((int)length).ToArray());
    }

    private static Request? ReadPushbuf(ref WireReader r, ProtocolLimits limits, out (int, string) refusal)
    {
        uint channel = r.U32(), bufferCount = r.U32(), pushCount = r.U32(), inlineLength = r.U32();
        refusal = default;
        if (bufferCount > (uint)limits.MaxPushbufBuffers)
            return Refuse(out refusal, Errno.E2BIG, $"PUSHBUF: {bufferCount} buffers exceed the limit of {limits.MaxPushbufBuffers}");
        if (pushCount > (uint)limits.MaxPushEntries)
            return Refuse(out refusal, Errno.E2BIG, $"PUSHBUF: {pushCount} push entries exceed the limit of {limits.MaxPushEntries}");
        // All counts are bounded above, so this sum cannot overflow.
        long expected = bufferCount * (long)Requests.Pushbuf.BufferSize + pushCount * (long)Requests.Pushbuf.PushSize + inlineLength;
        if (expected != r.Remaining)
            return Refuse(out refusal, Errno.EINVAL,
                $"PUSHBUF: {bufferCount} buffers, {pushCount} push entries and {inlineLength} inline bytes need {expected} bytes, the frame has {r.Remaining}");

        var buffers = new PushbufBuffer[bufferCount];
        for (int i = 0; i < buffers.Length; i++)
        {
            uint handle = r.U32(), access = r.U32();
            if (access == 0 || (access & ~(uint)BufferAccess.ReadWrite) != 0)
                return Refuse(out refusal, Errno.EINVAL, $"PUSHBUF: buffer {i} has access 0x{access:x} (READ=1, WRITE=2)");
            buffers[i] = new PushbufBuffer(handle, (BufferAccess)access);
        }
        var push = new PushEntry[pushCount];
        for (int i = 0; i < push.Length; i++)
        {
            uint index = r.U32();
            r.Skip(4);
            push[i] = new PushEntry(index, r.U64(), r.U64());
        }
        return new Requests.Pushbuf(channel, buffers, push, r.Bytes((int)inlineLength).ToArray());
    }

    private static Request? Refuse(out (int, string) refusal, int errno, string message)
    {
        refusal = (errno, message);
        return null;
    }
}
