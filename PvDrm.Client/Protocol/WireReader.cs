using System.Buffers.Binary;
using System.Text;

namespace PvDrm.Protocol;

/// <summary>
/// Reads little-endian fields from a frame body that has already been copied out of the socket.
/// Reads past the end yield zeros: a shorter body from an older guest is zero-extended, the way
/// virglrenderer's native context grows its requests.
/// </summary>
public ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Reads <paramref name="data"/> from its start.</summary>
    public WireReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Bytes not yet read (never negative, even after zero-extended reads).</summary>
    public readonly int Remaining => Math.Max(0, _data.Length - _position);

    /// <summary>The next little-endian 16-bit value.</summary>
    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    /// <summary>The next little-endian 32-bit value.</summary>
    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    /// <summary>The next little-endian signed 32-bit value.</summary>
    public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    /// <summary>The next little-endian 64-bit value.</summary>
    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>Skips <paramref name="count"/> bytes (padding).</summary>
    public void Skip(int count) => _position += count;

    /// <summary>
    /// Exactly <paramref name="count"/> bytes that must all be present (variable parts whose
    /// lengths the caller has already checked against <see cref="Remaining"/>).
    /// </summary>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (count < 0 || count > Remaining) throw new InvalidOperationException($"{count} bytes requested, {Remaining} left");
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>A UTF-8 string of <paramref name="count"/> bytes; null when it is not valid UTF-8.</summary>
    public string? Utf8(int count)
    {
        var bytes = Bytes(count);
        try
        {
            return s_strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static readonly UTF8Encoding s_strict = new(false, throwOnInvalidBytes: true);

    private ReadOnlySpan<byte> Take(int size)
    {
        int start = _position;
        _position += size;
        if (start + size <= _data.Length) return _data.Slice(start, size);
        // Partly or wholly past the end: zero-extend.
        var padded = new byte[size];
        if (start < _data.Length) _data[start..].CopyTo(padded);
        return padded;
    }
}
