using PvDrm.Protocol;
using PvDrm.Native.Interop;

namespace PvDrm.Client;

/// <summary>A request the host (or the connection) refused, with its errno and the host's message.</summary>
public sealed class DrmException : ErrnoException
{
    public DrmException(Op op, int errno, string? message)
        : base(errno, $"{OpTable.NameOf(op)} failed: {PvDrm.Native.Interop.Errno.Name(errno)}: {message ?? "(no message)"}")
    {
        Op = op;
        HostMessage = message;
    }

    public Op Op { get; }

    public string? HostMessage { get; }
}
