using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using PvDrm.Host.Demo;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Containers;

/// <summary>
/// pvdrm-host cdi generate against a running host: the spec is valid by the CDI project's own
/// schema, and its edits, applied as a runtime applies them, make `pvdrm-guest run gemm` a guest
/// of its share with no flag at all (its name and token read from the mounted files).
/// </summary>
public class CdiSpecTests : IDisposable
{
    private static readonly TimeSpan Timeout = Processes.Timeout;
    private readonly Processes _run = new();

    [Fact]
    public async Task The_generated_spec_is_valid_by_the_cdi_schema_and_lists_every_share()
    {
        await StartHost();
        string spec = await Generate();

        var result = CdiSchema().Evaluate(JsonDocument.Parse(spec).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, JsonSerializer.Serialize(result));
        var json = JsonNode.Parse(spec)!;
        Assert.Equal(("pvdrm.io/gpu", "0.6.0"), (json["kind"]!.GetValue<string>(), json["cdiVersion"]!.GetValue<string>()));
        Assert.Equal(["soft0-0", "soft0-1"], json["devices"]!.AsArray().Select(d => d!["name"]!.GetValue<string>()));
        // Each share's token is a file of its own, never a value in the environment.
        var edits = json["devices"]![0]!["containerEdits"]!;
        Assert.DoesNotContain(edits["env"]!.AsArray(), e => e!.GetValue<string>().Contains(File.ReadAllText(Path.Combine(_run["shares"], "soft0-0", "token")).Trim()));
        Assert.Contains("PVDRM_CREDENTIALS=/run/pvdrm/credentials", edits["env"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.NotEqual(File.ReadAllText(Path.Combine(_run["shares"], "soft0-0", "token")), File.ReadAllText(Path.Combine(_run["shares"], "soft0-1", "token")));

        var list = await _run.Run("pvdrm-host", "cdi", "list", "--config", _run["host.hocon"], "--output", _run["cdi"]);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("pvdrm.io/gpu=soft0-1", list.Stdout);
    }

    [Fact]
    public void The_schema_refuses_a_spec_without_devices()
    {
        var bad = JsonDocument.Parse("""{"cdiVersion": "0.6.0", "kind": "pvdrm.io/gpu"}""").RootElement;
        Assert.False(CdiSchema().Evaluate(bad).IsValid);
    }

    [ContainerFact]
    public async Task A_container_given_a_share_by_its_cdi_edits_runs_gemm_with_no_flag()
    {
        await StartHost();
        var device = JsonNode.Parse(await Generate())!["devices"]!.AsArray().Single(d => d!["name"]!.GetValue<string>() == "soft0-1")!;
        var edits = device["containerEdits"]!;
        var mounts = edits["mounts"]!.AsArray().Select(m => new ContainerRuntime.Mount(
            m!["hostPath"]!.GetValue<string>(), m["containerPath"]!.GetValue<string>(),
            m["options"]!.AsArray().Any(o => o!.GetValue<string>() == "ro")));
        var env = edits["env"]!.AsArray().Select(e => e!.GetValue<string>());

        var (code, output) = await ContainerRuntime.RunAsync(mounts, env, ContainerRuntime.Guest("run", "gemm", "--size", "32", "--iterations", "2"), Timeout);

        Assert.True(code == 0, output);
        Assert.Contains("verified", output);
        // The host admitted it under the share's name: the token came from the mounted file
        // (same-uid admission is off, so no other credential would do).
        var status = await _run.Run("pvdrm-host", "status", "--json", "--config", _run["host.hocon"]);
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Equal(1, JsonDocument.Parse(status.Stdout).RootElement.GetProperty("totals").GetProperty("guestsAdmitted").GetInt64());
    }

    [Fact]
    public async Task A_share_without_its_token_is_refused()
    {
        await StartHost();
        await Generate();
        var run = await _run.Run("pvdrm-guest", "run", "gemm", "--size", "8", "--iterations", "1",
            "--host", $"unix:{_run["host.sock"]}", "--name", "soft0-0", "--token", "not-the-token-of-this-share");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("the token does not match", run.Stderr);
    }

    private async Task StartHost()
    {
        File.WriteAllText(_run["host.hocon"], $$"""
            pvdrm.host {
              listen.unix = "{{_run["host.sock"]}}"
              control.unix = "{{_run["control.sock"]}}"
              auth.same-uid = off
            }
            pvdrm.k8s {
              shares-per-device = 2
              shim = "{{ContainerRuntime.Shim}}"
              credentials-dir = "{{_run["shares"]}}"
            }
            """);
        var host = _run.Start("pvdrm-host", "serve", "--config", _run["host.hocon"]);
        await host.WaitForFileAsync(_run["control.sock"], Timeout);
    }

    private async Task<string> Generate()
    {
        var generate = await _run.Run("pvdrm-host", "cdi", "generate", "--config", _run["host.hocon"], "--output", _run["cdi"]);
        Assert.True(generate.ExitCode == 0, generate.Stderr);
        return File.ReadAllText(Path.Combine(_run["cdi"], "pvdrm.io-gpu.json"));
    }

    /// <summary>The CDI project's schema (vendored beside these tests, see its NOTICE), with its definitions.</summary>
    internal static JsonSchema CdiSchema()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Containers", "cdi-schema");
        // The files declare draft-07 (defs.json implicitly), whose "definitions" later dialects dropped.
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = Dialect.Draft07 };
        JsonSchema.FromFile(Path.Combine(dir, "defs.json"), options, new Uri("file:///cdi-schema/defs.json"));
        return JsonSchema.FromFile(Path.Combine(dir, "schema.json"), options, new Uri("file:///cdi-schema/schema.json"));
    }

    public void Dispose() => _run.Dispose();
}
