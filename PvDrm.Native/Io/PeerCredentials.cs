namespace PvDrm.Native.Io;

/// <summary>Who is at the other end of a Unix socket, as the kernel saw it at connect (SO_PEERCRED).</summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    public override string ToString() => $"pid {Pid} uid {Uid} gid {Gid}";
}
