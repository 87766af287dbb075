using PvDrm.Protocol;
using PvDrm.Native.Gpu;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Client;

/// <summary>
/// Requests of one <see cref="DrmContext"/> gathered and sent together by <see cref="FlushAsync"/>:
/// one write for all of them, which on the shared-memory ring wakes the host at most once
/// (one doorbell), however many requests the batch holds. The host still runs and answers each
/// request on its own: a failing request fails alone, the others go on.
/// </summary>
/// <remarks>
/// <code>
/// using var batch = ctx.Batch();
/// int a = batch.GemNew(4096), b = batch.GemNew(4096);
/// var replies = await batch.FlushAsync();
/// GemObject first = replies.Gem(a);
/// </code>
/// A request added with <see cref="Add"/> (or a helper) has its reply in the
/// <see cref="DrmBatchReplies"/> at the index <see cref="Add"/> returned; one sent with
/// <see cref="Post"/> is reply-less: the host answers it only if it fails, and that failure is
/// raised by the context's next request (PROTOCOL.md, reply-less requests). Not thread-safe;
/// a batch can be filled and flushed again after each flush. Disposing drops what was not flushed.
/// </remarks>
public sealed class DrmBatch : IDisposable
{
    private readonly DrmContext _context;
    private readonly List<(Request Request, bool Awaited)> _requests = new();
    private int _awaited;

    internal DrmBatch(DrmContext context) => _context = context;

    /// <summary>Requests waiting for <see cref="FlushAsync"/>.</summary>
    public int Count => _requests.Count;

    /// <summary>
    /// Adds <paramref name="request"/> (sent in this batch's context) and returns the index of its
    /// reply in the <see cref="DrmBatchReplies"/> the next <see cref="FlushAsync"/> gives.
    /// Throws <see cref="DrmException"/> (EMSGSIZE) when it exceeds the negotiated frame limit.
    /// </summary>
    public int Add(Request request)
    {
        _requests.Add((Checked(request), true));
        return _awaited++;
    }

    /// <summary>Adds <paramref name="request"/> as reply-less: nothing to await, a failure surfaces on the context's next request.</summary>
    public void Post(Request request) => _requests.Add((Checked(request), false));

    /// <summary>A GEM_NEW whose object <see cref="DrmBatchReplies.Gem"/> gives; the handle is chosen now, so later requests of the batch may name it.</summary>
    public int GemNew(ulong size, GemDomain domain = GemDomain.Vram | GemDomain.Mappable, uint flags = 0) =>
        Add(new GemNew(_context.NextHandle(), domain, size, flags));

    /// <summary>A PUSHBUF of <paramref name="pushbuf"/> on <paramref name="channel"/>, whose fence <see cref="DrmBatchReplies.Fence"/> gives.</summary>
    public int Submit(GemChannel channel, PushbufBuilder pushbuf)
    {
        int index = Add(pushbuf.Build(channel.Id));
        _context.CountSubmission();
        return index;
    }

    /// <summary>
    /// Sends every request added since the last flush, in order, in one write, and completes when
    /// each awaited request has its reply (at once when all were posted). A request that fails
    /// has its failure in its own reply; losing the connection throws <see cref="DrmException"/>
    /// (ECONNRESET), as would a failure kept from an earlier reply-less request on this context.
    /// </summary>
    public Task<DrmBatchReplies> FlushAsync()
    {
        // A failure of an earlier reply-less request is raised before more requests go (as SendAsync does).
        _context.Client.ThrowIfReplyLessError(_context.Id);
        var replies = new DrmBatchReplies(_context, _awaited);
        var batch = new List<(Request, IAwaitsReply?)>(_requests.Count);
        int index = 0;
        foreach (var (request, awaited) in _requests) batch.Add((request, awaited ? replies.Waiter(index++, request) : null));
        _requests.Clear();
        _awaited = 0;
        if (batch.Count == 0) return Task.FromResult(replies);
        if (!_context.Client.SendBatch(batch)) throw _context.Client.LostFor(batch[0].Item1.Op);
        return replies.Task;
    }

    private Request Checked(Request request)
    {
        request = request with { Context = _context.Id };
        _context.Client.ThrowIfTooLarge(request);
        return request;
    }

    /// <summary>Drops the requests not flushed (the handles they took stay unused).</summary>
    public void Dispose()
    {
        _requests.Clear();
        _awaited = 0;
    }
}
