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

    /// <summary>The context the channel belongs to.</summary>
    public DrmContext Context { get; }

    /// <summary>The channel id this client chose.</summary>
    public uint Id { get; }

    /// <summary>Frees the channel (CHANNEL_FREE).</summary>
    public Task FreeAsync() => Context.Send(new ChannelFree(Id));
}
