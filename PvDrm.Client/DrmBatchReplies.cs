using PvDrm.Protocol;

namespace PvDrm.Client;

/// <summary>
/// The replies to one <see cref="DrmBatch.FlushAsync"/>, by the index each awaited request was
/// given when it was added. One task completes for the whole batch (not one per request); each
/// reply carries its own status, so a failure in the middle concerns that request alone.
/// </summary>
public sealed class DrmBatchReplies
{
    private readonly DrmContext _context;
    private readonly ReplyFrame?[] _replies;
    private readonly TaskCompletionSource<DrmBatchReplies> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    internal DrmBatchReplies(DrmContext context, int count)
    {
        _context = context;
        _replies = new ReplyFrame?[count];
        _waiting = count;
        if (count == 0) _done.SetResult(this);
    }

    internal Task<DrmBatchReplies> Task => _done.Task;

    /// <summary>How many replies the batch awaited.</summary>
    public int Count => _replies.Length;

    /// <summary>The reply to the request added at <paramref name="index"/>, failures included.</summary>
    public ReplyFrame this[int index] => _replies[index]!;

    /// <summary>True when every awaited request succeeded.</summary>
    public bool AllSucceeded => _replies.All(r => r!.Status >= 0);

    /// <summary>Throws <see cref="DrmException"/> for the first request that failed, naming its index.</summary>
    public void ThrowIfAnyFailed()
    {
        for (int i = 0; i < _replies.Length; i++) Succeeded(i);
    }

    /// <summary>The object a <see cref="DrmBatch.GemNew"/> (or any request answered with GEM info) created; throws <see cref="DrmException"/> if it failed.</summary>
    public GemObject Gem(int index)
    {
        var reply = Succeeded(index);
        var info = reply.Read<Replies.GemInfo>();
        uint flags = reply.Header.Op == Op.GemNew && _flags.TryGetValue(index, out uint f) ? f : 0;
        return new GemObject(_context, info.Handle, info.Size, info.Domain, flags);
    }

    /// <summary>The fence of a <see cref="DrmBatch.Submit"/>; throws <see cref="DrmException"/> if it failed.</summary>
    public ulong Fence(int index) => Succeeded(index).Read<Replies.Fence>().Number;

    private ReplyFrame Succeeded(int index)
    {
        var reply = this[index];
        if (reply.Status < 0) throw new DrmException(reply.Header.Op, reply.Status, $"(request {index} of the batch) {reply.Message}");
        return reply;
    }

    // GEM_NEW's flags are not in its reply: kept from the request for Gem().
    private readonly Dictionary<int, uint> _flags = new();

    /// <summary>The waiter for the request at <paramref name="index"/>; <paramref name="request"/> is kept when its reply needs it.</summary>
    internal IAwaitsReply Waiter(int index, Request request)
    {
        if (request is Requests.GemNew { GemFlags: not 0 } gemNew) _flags[index] = gemNew.GemFlags;
        return new Entry(this, index, request.Op);
    }

    private void OnReply(int index, ReplyFrame reply)
    {
        _replies[index] = reply;
        if (Interlocked.Decrement(ref _waiting) == 0) _done.TrySetResult(this);
    }

    private void OnLost(Op op, string reason) => _done.TrySetException(_context.Client.LostFor(op, reason));

    /// <summary>One request's place in the batch: a small object, no task of its own.</summary>
    private sealed class Entry(DrmBatchReplies replies, int index, Op op) : IAwaitsReply
    {
        public void OnReply(ReplyFrame reply) => replies.OnReply(index, reply);

        public void OnLost(string reason) => replies.OnLost(op, reason);
    }
}
