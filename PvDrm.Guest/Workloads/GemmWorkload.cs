using System.Diagnostics;
using System.Runtime.InteropServices;
using PvDrm.Client;
using PvDrm.Native.Gpu;

namespace PvDrm.Guest.Workloads;

/// <summary>
/// The verified workload of `pvdrm-guest run gemm` and the demo: upload two random matrices,
/// then per iteration submit one pushbuf that computes E = 2·(A·B) + 1 with FILL, GEMM, SAXPY and
/// COPY on the GPU, wait for it with CPU_PREP, read E back and compare it with a CPU reference.
/// Data moves through a mapping (zero copy) when the connection passes descriptors, otherwise
/// through GEM_WRITE/GEM_READ. Setup and one warm-up iteration (verified too) are not timed;
/// the timed iterations may wait for a common start time so that several guests compete.
/// </summary>
public sealed class GemmWorkload
{
    public const string Name = "gemm";

    public int Size { get; init; } = 256;
    public int Iterations { get; init; } = 4;
    public int Seed { get; init; } = 1;

    /// <summary>Use GEM_READ/GEM_WRITE even where mapping is possible.</summary>
    public bool ForceCopy { get; init; }

    /// <summary>Start the timed iterations no earlier than this (Unix time, ms); null: at once.</summary>
    public double? StartAtMs { get; init; }

    public async Task<WorkloadResult> RunAsync(DrmClient client, IProgress<int>? progress = null)
    {
        int n = Size;
        ulong bytes = (ulong)n * (ulong)n * sizeof(float);
        var (a, b) = (RandomMatrix(n, Seed), RandomMatrix(n, Seed + 1));
        var expected = Reference(a, b, n);
        bool map = client.CanMap && !ForceCopy;
        long requests = 0, commands = 0, moved = 0;

        await using var context = await client.OpenContextAsync();
        var gemA = await context.GemNewAsync(bytes);
        var gemB = await context.GemNewAsync(bytes);
        var gemC = await context.GemNewAsync(bytes);
        var gemD = await context.GemNewAsync(bytes);
        var gemE = await context.GemNewAsync(bytes);
        var channel = await context.ChannelAllocAsync();
        requests += 7;

        var mapA = map ? await gemA.MapAsync() : null;
        var mapB = map ? await gemB.MapAsync() : null;
        var mapE = map ? await gemE.MapAsync() : null;
        if (map)
        {
            a.CopyTo(mapA!.Floats(0, a.Length));
            b.CopyTo(mapB!.Floats(0, b.Length));
            requests += 3;
        }
        else
        {
            await gemA.WriteAsync(0, MemoryMarshal.AsBytes(a.AsSpan()).ToArray());
            await gemB.WriteAsync(0, MemoryMarshal.AsBytes(b.AsSpan()).ToArray());
            requests += 2 * Chunks(client, bytes);
        }
        moved += 2 * (long)bytes;

        var result = new float[n * n];
        string? error = null;
        var clock = new Stopwatch();
        double startedAt = 0;
        // Iteration 0 is the untimed warm-up; then wait for the common start, if any.
        for (int i = 0; i <= Iterations && error == null; i++)
        {
            if (i == 1)
            {
                if (StartAtMs is { } at && at > Now()) await Task.Delay(TimeSpan.FromMilliseconds(at - Now()));
                startedAt = Now();
                (requests, commands, moved) = (0, 0, 0);
                clock.Start();
            }
            var pushbuf = new PushbufBuilder();
            uint ia = pushbuf.Use(gemA, BufferAccess.Read), ib = pushbuf.Use(gemB, BufferAccess.Read);
            uint ic = pushbuf.Use(gemC, BufferAccess.ReadWrite), id = pushbuf.Use(gemD, BufferAccess.ReadWrite);
            uint ie = pushbuf.Use(gemE, BufferAccess.Write);
            var cmd = pushbuf.Commands;
            cmd.Fill(ic, 0, bytes, 0xDEADBEEF);                      // garbage that beta = 0 must ignore
            cmd.Gemm((uint)n, (uint)n, (uint)n, 1f, 0f, ia, 0, ib, 0, ic, 0);
            cmd.Fill(id, 0, bytes, BitConverter.SingleToUInt32Bits(1f));
            cmd.Saxpy(2f, (uint)(n * n), ic, 0, id, 0);               // D = 2·C + 1
            cmd.Copy(id, 0, ie, 0, bytes);                           // E = D
            commands += 5;

            await context.SubmitAsync(channel, pushbuf);
            await gemE.CpuPrepAsync(write: false);
            requests += 2;

            if (map) mapE!.Floats(0, result.Length).CopyTo(result);
            else
            {
                var raw = new byte[bytes];
                await gemE.ReadAsync(0, raw);
                MemoryMarshal.Cast<byte, float>(raw).CopyTo(result);
                requests += Chunks(client, bytes);
            }
            moved += (long)bytes;
            error = Compare(result, expected);
            progress?.Report(i);
        }
        clock.Stop();

        return new WorkloadResult
        {
            Guest = client.Name,
            Workload = Name,
            Size = n,
            Iterations = Iterations,
            Requests = requests,
            Commands = commands,
            Bytes = moved,
            ElapsedMs = clock.Elapsed.TotalMilliseconds,
            StartedAtMs = startedAt,
            EndedAtMs = Now(),
            Gflops = 2.0 * n * n * n * Iterations / clock.Elapsed.TotalSeconds / 1e9,
            Verified = error == null,
            Error = error,
            DataPath = map ? "map" : "copy",
        };
    }

    private static double Now() => DateTime.UtcNow.Subtract(DateTime.UnixEpoch).TotalMilliseconds;

    private static long Chunks(DrmClient client, ulong bytes) => (long)((bytes + (ulong)client.MaxChunk - 1) / (ulong)client.MaxChunk);

    private static float[] RandomMatrix(int n, int seed)
    {
        var random = new Random(seed);
        var m = new float[n * n];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(random.NextDouble() * 2 - 1);
        return m;
    }

    /// <summary>E = 2·(A·B) + 1 on the CPU, accumulated in double.</summary>
    private static float[] Reference(float[] a, float[] b, int n)
    {
        var c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
        var e = new float[n * n];
        for (int i = 0; i < e.Length; i++) e[i] = (float)(2 * c[i] + 1);
        return e;
    }

    /// <summary>Null when every element matches within float32 accumulation error, else where it first did not.</summary>
    private string? Compare(float[] got, float[] want)
    {
        double tolerance = 1e-5 * Size;
        for (int i = 0; i < got.Length; i++)
        {
            if (Math.Abs(got[i] - want[i]) <= tolerance * (1 + Math.Abs(want[i]))) continue;
            return $"element ({i / Size}, {i % Size}) is {got[i]}, expected {want[i]}";
        }
        return null;
    }
}
