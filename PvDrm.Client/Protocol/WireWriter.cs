using System.Buffers.Binary;
using System.Text;

namespace PvDrm.Protocol;

/// <summary>Writes little-endian fields into a span sized by the caller.</summary>
public ref struct WireWriter
{
    private readonly Span<byte> _data;
    private int _position;

    public WireWriter(Span<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly int Position => _position;

    public void U16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), value);

    public void U32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), value);

    public void I32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

    public void U64(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), value);

    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    public void Utf8(string value) => _position += Encoding.UTF8.GetBytes(value, _data[_position..]);

    public void Zeros(int count) => Take(count).Clear();

    private Span<byte> Take(int size)
    {
        var span = _data.Slice(_position, size);
        _position += size;
        return span;
    }
}
