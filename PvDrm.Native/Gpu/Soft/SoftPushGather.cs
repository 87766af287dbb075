using System.Diagnostics.CodeAnalysis;
using PvDrm.Native.Interop;

namespace PvDrm.Native.Gpu.Soft;

/// <summary>
/// Checks a pushbuf's push entries and copies the command words they name, in order, into one
/// private array: the only copy that is ever decoded or executed (no double fetch).
/// </summary>
internal static class SoftPushGather
{
    public static byte[] Gather(Pushbuf pushbuf, int maxCommandBytes)
    {
        ulong total = 0;
        for (int i = 0; i < pushbuf.Push.Length; i++)
        {
            var p = pushbuf.Push[i];
            bool inline = p.BufferIndex == PushEntry.InlineIndex;
            if (!inline && p.BufferIndex >= (uint)pushbuf.Buffers.Length)
                Fail(i, $"names buffer {p.BufferIndex}, but the pushbuf lists {pushbuf.Buffers.Length}");
            if (!inline && pushbuf.Access[p.BufferIndex] == BufferAccess.None)
                Fail(i, $"reads commands from buffer {p.BufferIndex}, which is listed with access None");
            ulong size = inline ? (ulong)pushbuf.Inline.Length : pushbuf.Buffers[p.BufferIndex].Size;
            if (p.Offset > size || p.Length > size - p.Offset)
                Fail(i, $"[{p.Offset}, +{p.Length}) exceeds {(inline ? "the inline block" : $"buffer {p.BufferIndex}")} ({size} bytes)");
            if (p.Offset % 4 != 0 || p.Length % 4 != 0)
                Fail(i, $"[{p.Offset}, +{p.Length}) is not word aligned");
            // Each length is below 2^31 (it fits a buffer), so the sum cannot wrap before this check.
            total += p.Length;
            if (total > (ulong)maxCommandBytes)
                ErrnoException.Throw(Errno.E2BIG, $"pushbuf: more than {maxCommandBytes} bytes of commands (push entries 0..{i})");
        }

        var stream = new byte[total];
        int at = 0;
        foreach (var p in pushbuf.Push)
        {
            var destination = stream.AsSpan(at, (int)p.Length);
            if (p.BufferIndex == PushEntry.InlineIndex) pushbuf.Inline.Span.Slice((int)p.Offset, (int)p.Length).CopyTo(destination);
            else pushbuf.Buffers[p.BufferIndex].Read(p.Offset, destination);
            at += (int)p.Length;
        }
        return stream;
    }

    [DoesNotReturn]
    private static void Fail(int entry, string what) => ErrnoException.Throw(Errno.EINVAL, $"pushbuf: push entry {entry} {what}");
}
