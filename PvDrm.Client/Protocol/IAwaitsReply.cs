namespace PvDrm.Protocol;

/// <summary>
/// What waits for one request's reply in a <see cref="ClientLink"/>'s pending table: exactly one
/// of its two methods is called, once. Both run on the connection's event loop, so they must not block.
/// </summary>
public interface IAwaitsReply
{
    /// <summary>The reply came; whoever takes its descriptor owns it, an untaken one is disposed by nobody else.</summary>
    void OnReply(ReplyFrame reply);

    /// <summary>The connection ended (<paramref name="reason"/>) before the reply came.</summary>
    void OnLost(string reason);
}
