using System.Text.Json;
using System.Text.Json.Nodes;

namespace PvDrm.Host.Containers;

/// <summary>
/// A Container Device Interface spec (github.com/cncf-tags/container-device-interface, SPEC.md):
/// one device per share, each with the <see cref="ContainerEdits"/> of that share. A CDI-aware
/// runtime (Docker 25+, Podman, containerd, CRI-O) applies them for `--device KIND=SHARE`.
/// </summary>
internal static class CdiSpec
{
    /// <summary>The spec version written: 0.6.0 brought annotations, and every runtime above reads it.</summary>
    public const string Version = "0.6.0";

    /// <summary>The file name runtimes expect for a kind: vendor-class.json.</summary>
    public static string FileName(string kind) => kind.Replace('/', '-') + ".json";

    public static JsonObject Build(string kind, IEnumerable<(Share Share, ContainerEdits Edits)> shares) => new()
    {
        ["cdiVersion"] = Version,
        ["kind"] = kind,
        ["devices"] = new JsonArray(shares.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Share.Id,
            ["annotations"] = new JsonObject { ["pvdrm.io/device"] = s.Share.Device },
            ["containerEdits"] = Edits(s.Edits),
        }).ToArray()),
    };

    /// <summary>The devices a spec file offers: name and the device it shares.</summary>
    public static IReadOnlyList<(string Name, string Device)> Devices(string json)
    {
        var spec = JsonNode.Parse(json) ?? throw new JsonException("empty spec");
        return (spec["devices"]?.AsArray() ?? []).Select(d => (
            d?["name"]?.GetValue<string>() ?? "?",
            d?["annotations"]?["pvdrm.io/device"]?.GetValue<string>() ?? "?")).ToList();
    }

    private static JsonObject Edits(ContainerEdits edits) => new()
    {
        ["env"] = new JsonArray(edits.Env.Select(e => (JsonNode)JsonValue.Create($"{e.Key}={e.Value}")).ToArray()),
        ["mounts"] = new JsonArray(edits.Mounts.Select(m => (JsonNode)new JsonObject
        {
            ["hostPath"] = m.HostPath,
            ["containerPath"] = m.ContainerPath,
            ["type"] = "bind",
            ["options"] = new JsonArray(["rbind", m.ReadOnly ? "ro" : "rw", "nosuid", "nodev"]),
        }).ToArray()),
    };
}
