using PvDrm.Protocol;
using PvDrm.Native.Interop;

namespace PvDrm.Client;

/// <summary>A request the host (or the connection) refused, with its errno and the host's message.</summary>
public sealed class DrmException : ErrnoException
{
    /// <summary>A refusal of <paramref name="op"/> with <paramref name="errno"/> and the host's <paramref name="message"/>.</summary>
    public DrmException(Op op, int errno, string? message)
        : base(errno, $"{OpTable.NameOf(op)} failed: {PvDrm.Native.Interop.Errno.Name(errno)}: {message ?? "(no message)"}")
    {
        Op = op;
        HostMessage = message;
    }

    /// <summary>The operation that failed.</summary>
    public Op Op { get; }

    /// <summary>The message the host (or the connection) gave, naming the limit or cause.</summary>
    public string? HostMessage { get; }
}
