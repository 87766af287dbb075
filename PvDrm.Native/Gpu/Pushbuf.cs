namespace PvDrm.Native.Gpu;

/// <summary>
/// One submission, shaped like nouveau's DRM_NOUVEAU_GEM_PUSHBUF: a buffer list with the
/// access each buffer is used with, and push entries naming command ranges, either in a
/// listed buffer or in the inline block that travelled with the request. Commands refer to
/// buffers by their index in <see cref="Buffers"/>, never by handle.
/// </summary>
public sealed class Pushbuf
{
    public Pushbuf(IGpuBuffer[] buffers, BufferAccess[] access, PushEntry[] push, ReadOnlyMemory<byte> inline)
    {
        if (buffers.Length != access.Length)
            throw new ArgumentException("one access entry per buffer", nameof(access));
        Buffers = buffers;
        Access = access;
        Push = push;
        Inline = inline;
    }

    public IGpuBuffer[] Buffers { get; }

    public BufferAccess[] Access { get; }

    public PushEntry[] Push { get; }

    /// <summary>Command bytes sent with the request; push entries with <see cref="PushEntry.InlineIndex"/> point here.</summary>
    public ReadOnlyMemory<byte> Inline { get; }
}

/// <summary>A range of command words: in buffer <see cref="BufferIndex"/> or, with <see cref="InlineIndex"/>, inline.</summary>
public readonly record struct PushEntry(uint BufferIndex, ulong Offset, ulong Length)
{
    public const uint InlineIndex = uint.MaxValue;
}

/// <summary>How a pushbuf uses a buffer; commands may only read what is readable and write what is writable.</summary>
[Flags]
public enum BufferAccess : uint
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}
