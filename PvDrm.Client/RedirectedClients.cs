using PvDrm.Protocol;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;

namespace PvDrm.Client;

/// <summary>
/// A <see cref="DrmClient"/>'s connections to the pool nodes it was redirected to (CLUSTER.md),
/// one per address, kept; they belong to the client the application holds (the home client).
/// </summary>
internal sealed class RedirectedClients(DrmClient client, DrmClient? home) : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Task<DrmClient>> _byAddress = new(StringComparer.Ordinal);

    /// <summary>True when <c>client</c> itself was made by following a redirect.</summary>
    public bool IsFollowed => home != null;

    /// <summary>The connection to <paramref name="address"/>, with the client's name and token (the hop limit is ClientLink's).</summary>
    public async Task<DrmClient> FollowAsync(string address, string why)
    {
        // A redirect back to the home client (a node that has not heard of a move yet) asks there again.
        if (home != null) return await home.Follow(address, why);
        if (address == client.Endpoint) return client;
        Task<DrmClient> connecting;
        lock (_lock)
        {
            if (!_byAddress.TryGetValue(address, out connecting!) || connecting.IsFaulted || connecting is { IsCompletedSuccessfully: true, Result.IsConnected: false })
                _byAddress[address] = connecting = ConnectAsync(address);
        }
        try
        {
            return await connecting;
        }
        catch (Exception e) when (e is DrmException or ErrnoException)
        {
            throw new DrmException(Op.OpenContext, Errno.ECONNREFUSED, $"{why}; but {address} cannot be reached: {e.Message}");
        }
    }

    private async Task<DrmClient> ConnectAsync(string address)
    {
        var connection = Endpoints.Connect(address, new ConnectionOptions { MaxFrame = client.Options.MaxFrame });
        var followed = await DrmClient.ConnectAsync(connection, client.Options, home: client, CancellationToken.None);
        followed.Endpoint = address;
        return followed;
    }

    public async ValueTask DisposeAsync()
    {
        List<Task<DrmClient>> all;
        lock (_lock) all = _byAddress.Values.ToList();
        foreach (var c in all.Where(c => c.IsCompletedSuccessfully)) await c.Result.DisposeAsync();
    }
}
