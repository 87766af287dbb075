using Akka.Configuration;
using PvDrm.Actors.Host;
using PvDrm.Host.Containers;
using YamlDotNet.RepresentationModel;

namespace PvDrm.Tests.Containers;

/// <summary>
/// deploy/kubernetes, parsed (no kubeconform here, and no cluster): the DaemonSet runs the host
/// and the device plugin with the host paths they need, its ConfigMap's HOCON loads and agrees
/// with those paths, and the example pod asks for one share.
/// </summary>
public class KubernetesManifestTests
{
    private static readonly string Folder = Path.Combine(Support.Repository.Root, "deploy", "kubernetes");

    [Fact]
    public void The_daemonset_runs_serve_and_the_device_plugin_with_the_sockets_devices_and_kubelet_folder()
    {
        var daemonSet = Documents("daemonset.yaml").Single(d => Text(d, "kind") == "DaemonSet");
        var pod = Map(Map(Map(daemonSet, "spec"), "template"), "spec");
        var containers = Seq(pod, "containers").Cast<YamlMappingNode>().ToDictionary(c => Text(c, "name"));
        Assert.Equal(["serve", "device-plugin"], containers.Values.Select(c => Strings(c, "command")[1]));
        var hostPaths = Seq(pod, "volumes").Cast<YamlMappingNode>().Where(v => v.Children.ContainsKey("hostPath"))
            .ToDictionary(v => Text(v, "name"), v => Text(Map(v, "hostPath"), "path"));

        var hocon = ConfigurationFactory.ParseString(HostHocon());
        var host = HostSettings.Create(hocon);
        var k8s = ContainerSettings.Create(hocon);
        // Each path the configuration names is a host path mounted at the same place, because
        // the kubelet mounts the sockets, shim and credentials into pods from the node.
        string MountedAt(string container, string path) => Seq(containers[container], "volumeMounts").Cast<YamlMappingNode>()
            .Where(m => path.StartsWith(Text(m, "mountPath"), StringComparison.Ordinal) && hostPaths.ContainsKey(Text(m, "name")))
            .Select(m => hostPaths[Text(m, "name")] + path[Text(m, "mountPath").Length..]).Single();
        Assert.Equal(host.ListenUnix, MountedAt("host", host.ListenUnix!));
        Assert.Equal(host.ControlUnix, MountedAt("device-plugin", host.ControlUnix!));
        Assert.Equal(k8s.CredentialsDir, MountedAt("device-plugin", k8s.CredentialsDir));
        Assert.Equal(k8s.SocketDir, MountedAt("device-plugin", k8s.SocketDir));
        Assert.Equal("/dev/dri", MountedAt("host", "/dev/dri"));
        Assert.Equal(Path.GetDirectoryName(k8s.Shim), hostPaths["shim"]);
        Assert.False(host.Auth.SameUid);
        Assert.NotEmpty(Seq(Map(pod, "securityContext"), "supplementalGroups"));
        Assert.Equal("/etc/pvdrm/host.hocon", Strings(containers["host"], "command")[3]);
        Assert.Equal("pvdrm.io/gpu", k8s.ResourceName);
    }

    [Fact]
    public void The_example_pod_requests_one_share_and_runs_gemm()
    {
        var pod = Documents("example-pod.yaml").Single();
        var container = (YamlMappingNode)Seq(Map(pod, "spec"), "containers").Single();
        Assert.Equal("1", Text(Map(Map(container, "resources"), "limits"), "pvdrm.io/gpu"));
        Assert.Equal(["run", "gemm"], Strings(container, "command").Skip(1).Take(2));
        var kustomize = Documents("kustomization.yaml").Single();
        Assert.All(Seq(kustomize, "resources").Select(r => ((YamlScalarNode)r).Value!), f => Assert.True(File.Exists(Path.Combine(Folder, f)), f));
    }

    private static string HostHocon()
    {
        var map = Documents("configmap.yaml").Single(d => Text(d, "kind") == "ConfigMap");
        return Text(Map(map, "data"), "host.hocon");
    }

    private static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Folder, file))) stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static YamlSequenceNode Seq(YamlMappingNode node, string key) => (YamlSequenceNode)node.Children[new YamlScalarNode(key)];

    private static string Text(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value!;

    private static List<string> Strings(YamlMappingNode node, string key) => Seq(node, key).Select(n => ((YamlScalarNode)n).Value!).ToList();
}
