using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Client;

/// <summary>
/// Builds one PUSHBUF: the buffers it uses (each with its access) and SoftGpu command words,
/// sent inline. Commands name buffers by the index <see cref="Use"/> returns.
/// </summary>
public sealed class PushbufBuilder
{
    private readonly List<PushbufBuffer> _buffers = new();

    /// <summary>The command stream being built.</summary>
    public SoftCommandWriter Commands { get; } = new();

    /// <summary>Adds <paramref name="gem"/> to the buffer list (once) and returns its index for commands.</summary>
    public uint Use(GemObject gem, BufferAccess access)
    {
        int index = _buffers.FindIndex(b => b.Handle == gem.Handle);
        if (index >= 0)
        {
            _buffers[index] = _buffers[index] with { Access = _buffers[index].Access | access };
            return (uint)index;
        }
        _buffers.Add(new PushbufBuffer(gem.Handle, access));
        return (uint)(_buffers.Count - 1);
    }

    internal Requests.Pushbuf Build(uint channel)
    {
        var inline = Commands.Written.ToArray();
        var push = inline.Length == 0 ? Array.Empty<PushEntry>() : new[] { new PushEntry(PushEntry.InlineIndex, 0, (ulong)inline.Length) };
        return new Requests.Pushbuf(channel, _buffers.ToArray(), push, inline);
    }
}
