using System.Buffers.Binary;
using System.Text;

namespace PvDrm.Protocol;

/// <summary>Writes little-endian fields into a span sized by the caller.</summary>
public ref struct WireWriter
{
    private readonly Span<byte> _data;
    private int _position;

    /// <summary>Writes into <paramref name="data"/> from its start.</summary>
    public WireWriter(Span<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    /// <summary>Writes a little-endian 16-bit value.</summary>
    public void U16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), value);

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public void U32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);

    /// <summary>Writes a little-endian signed 32-bit value.</summary>
    public void I32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

    /// <summary>Writes a little-endian 64-bit value.</summary>
    public void U64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);

    /// <summary>Writes <paramref name="bytes"/> as they are.</summary>
    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    /// <summary>Writes <paramref name="value"/> as UTF-8, unterminated.</summary>
    public void Utf8(string value) => _position += Encoding.UTF8.GetBytes(value, _data[_position..]);

    /// <summary>Writes <paramref name="count"/> zero bytes (padding).</summary>
    public void Zeros(int count) => Take(count).Clear();

    private Span<byte> Take(int size)
    {
        var span = _data.Slice(_position, size);
        _position += size;
        return span;
    }
}
