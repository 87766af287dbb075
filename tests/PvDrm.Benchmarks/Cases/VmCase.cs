using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PvDrm.Benchmarks.Harness;
using PvDrm.Host.Demo;

namespace PvDrm.Benchmarks.Cases;

/// <summary>
/// A guest in a QEMU VM (deploy/vm/run.sh) against a pvdrm-host on this machine over TCP, next to
/// a guest on this machine over TCP to the same host: the round trip of one request through the
/// shim and proxy (drmGetCap, Vm/native/vm_probe.c), a verified GEMM over the copy path, and the
/// VM guest's memcpy into a buffer mapped from its shared region (ivshmem) against memcpy into
/// its own memory. The emulation mode (kvm or tcg) is stated in the notes. Skipped, with the
/// reason, where QEMU, the kernel, busybox, gcc or libdrm_nouveau is missing.
/// </summary>
public sealed class VmCase : BenchCase
{
    private const int GemmSize = 128;

    public override string Name => "vm";

    public override string Title => "a VM guest's round trip and GEMM over TCP next to a guest on this machine";

    public override IReadOnlyList<string> Keys =>
        ["vm_tcp_rtt_us", "host_tcp_rtt_us", "vm_tcp_gemm_ms", "host_tcp_gemm_ms", "vm_map_ratio_vs_memcpy"];

    public override async Task RunAsync(CaseContext c)
    {
        string repo = Repository();
        string vm = Path.Combine(repo, "deploy", "vm");
        string native = Path.Combine(repo, "tests", "PvDrm.Tests", "Vm", "native");
        var (_, gap) = Run("bash", "-c", $"source '{vm}/vm-lib.sh' && vm_gap");
        string probe = Path.Combine(c.Env.Dir, "vm_probe");
        if (gap.Trim().Length == 0)
        {
            var (built, gcc) = Run("bash", "-c", $"gcc -O1 -o '{probe}' '{native}/vm_probe.c' $(pkg-config --cflags --libs libdrm libdrm_nouveau) -lm");
            if (built != 0) gap = $"the probe does not build (gcc, libdrm-dev, libdrm-nouveau2): {gcc.Trim()}";
        }
        if (gap.Trim().Length > 0)
        {
            c.Report.Note($"vm: skipped: {gap.Trim()}");
            return;
        }

        c.Status("starting the host (TCP, tokens, a shared region for the VM guest)");
        string tokens = Path.Combine(c.Env.Dir, "vm-tokens");
        await File.WriteAllTextAsync(tokens, "bench-vm vmtoken0123456789\nbench-tcp tcptoken0123456789\n");
        File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        int port = FreePort();
        var host = await c.Env.StartHostAsync("vm-host", sequential: false, $$"""
            pvdrm.host.listen.tcp = "127.0.0.1:{{port}}"
            pvdrm.host.auth { tokens-file = "{{tokens}}", same-uid = off }
            pvdrm.host.soft-gpu.personality = nouveau
            pvdrm.host.guests.bench-vm.shared-memory = 64 MiB
            pvdrm.host.shared-memory-dir = "{{c.Env.Dir}}"
            """);
        string config = Path.Combine(Path.GetDirectoryName(host.Socket)!, "host.hocon");
        int samples = c.Settings.Quick ? 300 : 2000;

        c.Status("the guest on this machine: probe and GEMM over TCP");
        string shim = Path.Combine(c.Env.Dir, "vm-tcp-shim.sock");
        await File.WriteAllTextAsync(Path.Combine(c.Env.Dir, "vm-tcp.hocon"), $$"""
            pvdrm.guest { host = "tcp:127.0.0.1:{{port}}", name = bench-tcp, token = tcptoken0123456789,
              listen = "unix:{{c.Env.Dir}}/vm-tcp.sock", shim.unix = "unix:{{shim}}" }
            """);
        var proxy = c.Env.Track(ChildProcess.Start("pvdrm-guest", "serve", "--config", Path.Combine(c.Env.Dir, "vm-tcp.hocon")));
        await proxy.WaitForFileAsync(shim, BenchEnv.StartTimeout);
        var local = Parse(await RunToEndAsync(c, "pvdrm-guest", "exec", "--shim", $"unix:{shim}", "--", probe, $"{samples}", "16"));
        var localGemm = Gemm(await RunToEndAsync(c, "pvdrm-guest", "run", "gemm", "--host", $"unix:{c.Env.Dir}/vm-tcp.sock",
            "--size", $"{GemmSize}", "--iterations", "4", "--json"));
        c.Progress(0.2);

        c.Status("booting the VM guest (deploy/vm/run.sh)");
        var run = await RunToEndAsync(c, "bash", Path.Combine(vm, "run.sh"), "--config", config, "--name", "bench-vm", "--bin", AppContext.BaseDirectory,
            "--timeout", "600", "--", "bash", "-c",
            $"pvdrm-guest exec -- '{probe}' {samples} 16 && pvdrm-guest run gemm --size {GemmSize} --iterations 4 --json");
        var inVm = Parse(run);
        string mode = run.Split('\n').FirstOrDefault(l => l.StartsWith("vm bench-vm: ", StringComparison.Ordinal))?["vm bench-vm: ".Length..].Trim() ?? "?";
        c.Progress(1);

        string where = $"VM: QEMU {mode}, 2 vCPUs, user networking to 10.0.2.2";
        c.Report.Note($"vm: {where}");
        c.Report.Value(Name, "vm_tcp_rtt_us", inVm["rtt_us"], $"{inVm["rtt_us"]:F1} us", $"{samples}", $"median drmGetCap through the shim and proxy in the VM, TCP to the host ({where})");
        c.Report.Value(Name, "host_tcp_rtt_us", local["rtt_us"], $"{local["rtt_us"]:F1} us", $"{samples}", "the same probe through a proxy on this machine, TCP to the host");
        double vmGemm = Gemm(run);
        c.Report.Value(Name, "vm_tcp_gemm_ms", vmGemm, $"{vmGemm:F1} ms", "1", $"pvdrm-guest run gemm {GemmSize}x{GemmSize}, 4 iterations, verified, copy path, in the VM");
        c.Report.Value(Name, "host_tcp_gemm_ms", localGemm, $"{localGemm:F1} ms", "1", "the same GEMM from this machine through a proxy over TCP");
        if (inVm.TryGetValue("map_ratio_vs_memcpy", out double ratio))
            c.Report.Ratio(Name, "vm_map_ratio_vs_memcpy", ratio, "in the VM: memcpy 16 MiB into process memory / into a buffer mapped from the shared region (medians of 7)");
        else c.Report.Failed(Name, "vm_map_ratio_vs_memcpy", "the VM guest could not map its buffer");
    }

    private static Dictionary<string, double> Parse(string output) =>
        output.Split('\n').Select(l => l.Trim().Split(' ')).Where(p => p.Length == 2 && double.TryParse(p[1], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));

    /// <summary>elapsedMs of the verified workload's JSON line.</summary>
    private static double Gemm(string output)
    {
        string line = output.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{')) ?? throw new InvalidOperationException($"no GEMM result in:\n{output}");
        using var json = JsonDocument.Parse(line);
        if (!json.RootElement.GetProperty("verified").GetBoolean()) throw new InvalidOperationException($"the GEMM did not verify: {line}");
        return json.RootElement.GetProperty("elapsedMs").GetDouble();
    }

    private static async Task<string> RunToEndAsync(CaseContext c, string program, params string[] args)
    {
        var p = program == "bash" ? ChildProcess.StartWith("/bin/bash", null, args) : ChildProcess.Start(program, args);
        c.Env.Track(p);
        int exit = await p.WaitAsync(TimeSpan.FromMinutes(10));
        string output = p.Stdout + p.Stderr;
        if (exit != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args.Take(3))}... exited {exit}:\n{output}");
        return output;
    }

    private static (int Exit, string Output) Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    private static string Repository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "deploy", "vm", "run.sh"))) return dir.FullName;
        throw new InvalidOperationException("deploy/vm/run.sh not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
