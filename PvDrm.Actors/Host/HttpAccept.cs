using System.Net;

namespace PvDrm.Actors.Host;

/// <summary>The accept loop of the host's small HTTP endpoints (metrics and probes, pool bootstrap).</summary>
internal static class HttpAccept
{
    /// <summary>
    /// Hands each request of <paramref name="listener"/> to <paramref name="answer"/> on the thread
    /// pool, so a slow peer holds up no other, until the listener stops or <paramref name="stop"/> is set.
    /// </summary>
    public static async Task ServeAsync(HttpListener listener, Func<HttpListenerContext, Task> answer, CancellationToken stop = default)
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            _ = Task.Run(() => answer(context));
        }
    }
}
