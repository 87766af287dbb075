using static Tmds.Linux.LibC;

namespace PvDrm.Benchmarks;

/// <summary>The child-process server modes: run until SIGTERM, or until the benchmark that started us is gone.</summary>
internal static class ServerMode
{
    public static async Task<int> RunAsync(int? parentPid, Func<CancellationToken, Task<int>> serve, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (parentPid is int pid)
        {
            _ = Task.Run(async () =>
            {
                // Orphaned (the benchmark was killed): our parent is no longer the one that started us.
                while (!cts.IsCancellationRequested)
                {
                    if (getppid() != pid)
                    {
                        cts.Cancel();
                        break;
                    }
                    await Task.Delay(500);
                }
            });
        }
        return await serve(cts.Token);
    }
}
