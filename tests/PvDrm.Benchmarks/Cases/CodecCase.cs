using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using PvDrm.Protocol;
using PvDrm.Benchmarks.Harness;
using PvDrm.Native.Gpu;

namespace PvDrm.Benchmarks.Cases;

/// <summary>The frame codec's micro paths, measured by BenchmarkDotNet (in process, short jobs).</summary>
public class CodecBenchmarks
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly Request _getParam = new Requests.GetParam(DeviceParam.GraphUnits);
    private readonly Request _pushbuf;
    private readonly byte[] _getParamFrame, _pushbufFrame, _replyFrame;

    public CodecBenchmarks()
    {
        var commands = new PvDrm.Native.Gpu.Soft.SoftCommandWriter();
        commands.Gemm(512, 512, 512, 1f, 0f, 0, 0, 1, 0, 2, 0);
        var inline = commands.Written.ToArray();
        _pushbuf = new Requests.Pushbuf(1, [new(1, BufferAccess.Read), new(2, BufferAccess.Read), new(3, BufferAccess.ReadWrite)],
            [new PushEntry(PushEntry.InlineIndex, 0, (ulong)inline.Length)], inline) { Context = 1 };
        _getParamFrame = FrameEncoder.EncodeRequest(_getParam with { RequestId = 1 });
        _pushbufFrame = FrameEncoder.EncodeRequest(_pushbuf with { RequestId = 2 });
        _replyFrame = new byte[FrameEncoder.ReplyPrefix + 8];
        FrameEncoder.WriteReply(_replyFrame, Op.GetParam, 1, 0, new Replies.Value(2));
    }

    [Benchmark]
    public int EncodeGetParam() => FrameEncoder.WriteRequest(_getParam, _buffer, 7, FrameFlags.None);

    [Benchmark]
    public Request? DecodeGetParam()
    {
        FrameDecoder.TryDecodeRequest(_getParamFrame, ProtocolLimits.Default, out var request, out _);
        return request;
    }

    [Benchmark]
    public int EncodePushbuf() => FrameEncoder.WriteRequest(_pushbuf, _buffer, 8, FrameFlags.None);

    [Benchmark]
    public Request? DecodePushbuf()
    {
        FrameDecoder.TryDecodeRequest(_pushbufFrame, ProtocolLimits.Default, out var request, out _);
        return request;
    }

    [Benchmark]
    public ReplyFrame? ParseReply() => ReplyFrame.Parse(_replyFrame, null, out _);
}

/// <summary>
/// Frame encode/decode costs with BenchmarkDotNet's statistics (in-process toolchain, one launch,
/// short iterations): the per-request CPU cost that the round-trip figures contain.
/// </summary>
public sealed class CodecCase : BenchCase
{
    private static readonly (string Method, string Key)[] s_keys =
    [
        ("EncodeGetParam", "codec_encode_get_param_ns"), ("DecodeGetParam", "codec_decode_get_param_ns"),
        ("EncodePushbuf", "codec_encode_pushbuf_ns"), ("DecodePushbuf", "codec_decode_pushbuf_ns"), ("ParseReply", "codec_parse_reply_ns"),
    ];

    public override string Name => "codec";

    public override string Title => "frame encode/decode (BenchmarkDotNet)";

    public override IReadOnlyList<string> Keys => s_keys.Select(k => k.Key).ToList();

    public override async Task RunAsync(CaseContext c)
    {
        bool quick = c.Settings.Quick;
        var job = Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(quick ? 3 : 8)
            .WithIterationCount(quick ? 10 : 30)
            .WithIterationTime(TimeInterval.FromMilliseconds(quick ? 40 : 150));
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddLogger(NullLogger.Instance)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .WithArtifactsPath(Path.Combine(c.Env.Dir, "bdn"))
            .WithOptions(ConfigOptions.DisableLogFile);
        c.Status("BenchmarkDotNet, in process");
        var summary = await Task.Run(() => BenchmarkRunner.Run<CodecBenchmarks>(config));
        foreach (var (method, key) in s_keys)
        {
            var report = summary.Reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method);
            var stats = report?.ResultStatistics;
            if (stats == null)
            {
                c.Report.Failed(Name, key, $"BenchmarkDotNet gave no result for {method}" +
                    (summary.ValidationErrors.Length > 0 ? $": {summary.ValidationErrors[0].Message}" : ""));
                continue;
            }
            string stem = key[..^3];
            c.Report.Set(key, stats.Median);
            c.Report.Set($"{stem}_p99_ns", stats.Percentiles.Percentile(99));
            c.Report.Set($"{stem}_samples", stats.N);
            c.Report.Value(Name, key, stats.Median, $"{stats.Median:F0} ns", $"{stats.N} it.",
                $"{method}: BenchmarkDotNet median of iteration means; p99 {stats.Percentiles.Percentile(99):F0} ns");
        }
    }
}
