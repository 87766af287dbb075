using static PvDrm.Protocol.Requests;

namespace PvDrm.Client;

/// <summary>A command channel in a context: pushbufs on it execute in order.</summary>
public sealed class GemChannel
{
    internal GemChannel(DrmContext context, uint id)
    {
        Context = context;
        Id = id;
    }

    public DrmContext Context { get; }

    public uint Id { get; }

    public Task FreeAsync() => Context.Send(new ChannelFree(Id));
}
