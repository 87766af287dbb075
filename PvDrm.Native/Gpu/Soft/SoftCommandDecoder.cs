using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// Decodes and validates a command stream that has already been copied out of guest-writable
/// memory. Every index, access right, alignment, overlap and range (overflow-safe) is checked
/// here, before anything runs. Nothing is kept per command: the stream stays the only form of
/// the work, and the engine decodes each command again, from the same private copy, when it
/// reaches it (a megabyte of NOPs costs a megabyte, not an object per word).
/// </summary>
internal static class SoftCommandDecoder
{
    /// <summary>Checks every command of <paramref name="stream"/>; throws EINVAL at the first bad one.</summary>
    public static void Validate(ReadOnlySpan<byte> stream, IGpuBuffer[] buffers, BufferAccess[] access)
    {
        if (stream.Length % 4 != 0) Fail(-1, null, $"command stream of {stream.Length} bytes is not a whole number of words");
        int word = 0, index = 0;
        while (word < stream.Length / 4) DecodeAt(stream, ref word, index++, buffers, access);
    }

    /// <summary>The checked command <paramref name="index"/> that starts at <paramref name="word"/>; moves <paramref name="word"/> past it.</summary>
    public static SoftCommand DecodeAt(ReadOnlySpan<byte> stream, ref int word, int index, IGpuBuffer[] buffers, BufferAccess[] access)
    {
        int words = stream.Length / 4;
        uint header = Word(stream, word);
        var op = (SoftOpcode)(header & 0xFFFF);
        int length = (int)(header >> 16), expected = SoftOpcodes.Words(op);
        if (expected == 0) Fail(index, op, $"unknown opcode at word {word}");
        if (length != expected) Fail(index, op, $"length {length} words at word {word}, expected {expected}");
        if (word + length > words) Fail(index, op, $"truncated: needs {length} words at word {word}, {words - word} left");

        var r = new Reader(stream.Slice(word * 4, length * 4), index, op, buffers, access);
        var command = op switch
        {
            SoftOpcode.Nop => new SoftCommand { Op = op },
            SoftOpcode.Fill => r.Fill(),
            SoftOpcode.Copy => r.Copy(),
            SoftOpcode.Saxpy => r.Saxpy(),
            SoftOpcode.Gemm => r.Gemm(),
            _ => r.Semaphore(),
        };
        word += length;
        return command;
    }

    private static uint Word(ReadOnlySpan<byte> stream, int word) => BinaryPrimitives.ReadUInt32LittleEndian(stream[(word * 4)..]);

    [DoesNotReturn]
    internal static void Fail(int index, SoftOpcode? op, string what) =>
        ErrnoException.Throw(Errno.EINVAL, index < 0 ? $"pushbuf: {what}" : $"command {index} ({SoftOpcodes.Name(op!.Value)}): {what}");

    /// <summary>Reads one command's fields in order and checks them as it goes.</summary>
    private ref struct Reader
    {
        private readonly ReadOnlySpan<byte> _words;
        private readonly int _index;
        private readonly SoftOpcode _op;
        private readonly IGpuBuffer[] _buffers;
        private readonly BufferAccess[] _access;
        private int _next;

        public Reader(ReadOnlySpan<byte> words, int index, SoftOpcode op, IGpuBuffer[] buffers, BufferAccess[] access)
        {
            _words = words;
            (_index, _op, _buffers, _access) = (index, op, buffers, access);
            _next = 1; // past the header
        }

        public SoftCommand Fill()
        {
            var dst = Range("destination", BufferAccess.Write);
            ulong size = Long();
            uint value = U32();
            Aligned("destination offset", dst.Offset, 4);
            Aligned("size", size, 4);
            Fits("destination", dst, size);
            return new SoftCommand { Op = _op, Dst = dst, Size = size, Value = value };
        }

        public SoftCommand Copy()
        {
            var src = Range("source", BufferAccess.Read);
            var dst = Range("destination", BufferAccess.Write);
            ulong size = Long();
            Fits("source", src, size);
            Fits("destination", dst, size);
            return new SoftCommand { Op = _op, Src = src, Dst = dst, Size = size };
        }

        public SoftCommand Saxpy()
        {
            float a = F32();
            uint n = U32();
            var x = Range("x", BufferAccess.Read);
            var y = Range("y", BufferAccess.ReadWrite);
            ulong bytes = (ulong)n * 4;
            Aligned("x offset", x.Offset, 4);
            Aligned("y offset", y.Offset, 4);
            Fits("x", x, bytes);
            Fits("y", y, bytes);
            if (Same(x, y) && x.Offset != y.Offset && Overlap(x.Offset, bytes, y.Offset, bytes))
                Fail(_index, _op, "x and y overlap without being the same range");
            return new SoftCommand { Op = _op, Src = x, Dst = y, N = n, Alpha = a };
        }

        public SoftCommand Gemm()
        {
            uint m = U32(), n = U32(), k = U32();
            float alpha = F32(), beta = F32();
            var a = Range("A", BufferAccess.Read);
            var b = Range("B", BufferAccess.Read);
            var c = Range("C", beta == 0 ? BufferAccess.Write : BufferAccess.ReadWrite);
            if (m == 0 || n == 0 || k == 0) Fail(_index, _op, $"dimensions {m}x{n}x{k} must all be at least 1");
            // Each dimension below 2^29 keeps every product below 2^60: no overflow, then one 2 GiB bound.
            if (m >= 1u << 29 || n >= 1u << 29 || k >= 1u << 29) Fail(_index, _op, $"dimensions {m}x{n}x{k} are too large for one command");
            ulong aBytes = (ulong)m * k * 4, bBytes = (ulong)k * n * 4, cBytes = (ulong)m * n * 4;
            if (aBytes > int.MaxValue || bBytes > int.MaxValue || cBytes > int.MaxValue)
                Fail(_index, _op, $"dimensions {m}x{n}x{k} make a matrix larger than 2 GiB");
            Aligned("A offset", a.Offset, 4);
            Aligned("B offset", b.Offset, 4);
            Aligned("C offset", c.Offset, 4);
            Fits("A", a, aBytes);
            Fits("B", b, bBytes);
            Fits("C", c, cBytes);
            if ((Same(c, a) && Overlap(c.Offset, cBytes, a.Offset, aBytes)) || (Same(c, b) && Overlap(c.Offset, cBytes, b.Offset, bBytes)))
                Fail(_index, _op, "C overlaps A or B");
            return new SoftCommand { Op = _op, A = a, B = b, Dst = c, M = m, N = n, K = k, Alpha = alpha, Beta = beta };
        }

        public SoftCommand Semaphore()
        {
            var at = Range("semaphore", _op == SoftOpcode.SemaphoreRelease ? BufferAccess.Write : BufferAccess.Read);
            uint value = U32();
            Aligned("semaphore offset", at.Offset, 4);
            Fits("semaphore", at, 4);
            return new SoftCommand { Op = _op, Dst = at, Value = value };
        }

        private uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(_words[(_next++ * 4)..]);

        private float F32() => BitConverter.UInt32BitsToSingle(U32());

        private ulong Long() => U32() | ((ulong)U32() << 32);

        /// <summary>A buffer index and offset; the buffer must be listed with <paramref name="needs"/>.</summary>
        private BufferRange Range(string what, BufferAccess needs)
        {
            uint bo = U32();
            ulong offset = Long();
            if (bo >= (uint)_buffers.Length) Fail(_index, _op, $"{what} names buffer {bo}, but the pushbuf lists {_buffers.Length}");
            // Reading needs read or write access; writing needs write access.
            bool allowed = (needs & BufferAccess.Write) != 0 ? (_access[bo] & BufferAccess.Write) != 0 : _access[bo] != BufferAccess.None;
            if (!allowed) Fail(_index, _op, $"{what} buffer {bo} is listed with access {_access[bo]}, but the command {(needs.HasFlag(BufferAccess.Write) ? "writes" : "reads")} it");
            return new BufferRange(bo, offset);
        }

        private void Fits(string what, BufferRange range, ulong bytes)
        {
            ulong size = _buffers[range.Index].Size;
            if (range.Offset > size || bytes > size - range.Offset)
                Fail(_index, _op, $"{what} range [{range.Offset}, +{bytes}) exceeds buffer {range.Index} ({size} bytes)");
        }

        private void Aligned(string what, ulong value, ulong alignment)
        {
            if (value % alignment != 0) Fail(_index, _op, $"{what} {value} is not a multiple of {alignment}");
        }

        /// <summary>Whether two ranges are in one buffer: compared as objects, since a pushbuf may list a buffer twice.</summary>
        private readonly bool Same(BufferRange x, BufferRange y) => ReferenceEquals(_buffers[x.Index], _buffers[y.Index]);

        // Only called on ranges already known to fit their buffer, so the sums cannot wrap.
        private static bool Overlap(ulong a, ulong aBytes, ulong b, ulong bBytes) => a < b + bBytes && b < a + aBytes;
    }
}
