using System.Buffers;
using System.Buffers.Binary;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// Encodes SoftGpu command words. Buffers are named by their index in the pushbuf's buffer
/// list; offsets and sizes are in bytes.
/// </summary>
public sealed class SoftCommandWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    public int Length => _buffer.WrittenCount;

    public void Reset() => _buffer.Clear();

    public void Nop() => Header(SoftOpcode.Nop);

    /// <summary>Fills <paramref name="size"/> bytes with the repeated 32-bit <paramref name="value"/>.</summary>
    public void Fill(uint bo, ulong offset, ulong size, uint value)
    {
        Header(SoftOpcode.Fill);
        Word(bo);
        Long(offset);
        Long(size);
        Word(value);
    }

    /// <summary>Copies <paramref name="size"/> bytes (overlap behaves like memmove).</summary>
    public void Copy(uint srcBo, ulong srcOffset, uint dstBo, ulong dstOffset, ulong size)
    {
        Header(SoftOpcode.Copy);
        Word(srcBo);
        Long(srcOffset);
        Word(dstBo);
        Long(dstOffset);
        Long(size);
    }

    /// <summary>y[i] = a·x[i] + y[i] for <paramref name="n"/> float32 elements.</summary>
    public void Saxpy(float a, uint n, uint xBo, ulong xOffset, uint yBo, ulong yOffset)
    {
        Header(SoftOpcode.Saxpy);
        Word(BitConverter.SingleToUInt32Bits(a));
        Word(n);
        Word(xBo);
        Long(xOffset);
        Word(yBo);
        Long(yOffset);
    }

    /// <summary>C[m×n] = alpha·A[m×k]·B[k×n] + beta·C, row-major dense float32.</summary>
    public void Gemm(uint m, uint n, uint k, float alpha, float beta, uint aBo, ulong aOffset, uint bBo, ulong bOffset, uint cBo, ulong cOffset)
    {
        Header(SoftOpcode.Gemm);
        Word(m);
        Word(n);
        Word(k);
        Word(BitConverter.SingleToUInt32Bits(alpha));
        Word(BitConverter.SingleToUInt32Bits(beta));
        Word(aBo);
        Long(aOffset);
        Word(bBo);
        Long(bOffset);
        Word(cBo);
        Long(cOffset);
    }

    /// <summary>Stores <paramref name="value"/> once everything before it has executed.</summary>
    public void SemaphoreRelease(uint bo, ulong offset, uint value) => Semaphore(SoftOpcode.SemaphoreRelease, bo, offset, value);

    /// <summary>Waits until the u32 at <paramref name="offset"/> is at least <paramref name="value"/>.</summary>
    public void SemaphoreAcquire(uint bo, ulong offset, uint value) => Semaphore(SoftOpcode.SemaphoreAcquire, bo, offset, value);

    private void Semaphore(SoftOpcode op, uint bo, ulong offset, uint value)
    {
        Header(op);
        Word(bo);
        Long(offset);
        Word(value);
    }

    private void Header(SoftOpcode op) => Word(SoftOpcodes.Header(op));

    private void Word(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    private void Long(ulong value)
    {
        Word((uint)value);
        Word((uint)(value >> 32));
    }
}
