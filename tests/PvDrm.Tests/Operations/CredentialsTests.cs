using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// Secrets as the units hand them over (LoadCredential=, read from $CREDENTIALS_DIRECTORY) and as
/// an operator gives them without argv (PVDRM_TOKEN): the host's tokens file and the proxy's token.
/// </summary>
public class CredentialsTests : IDisposable
{
    private readonly Processes _processes = new();

    [Fact]
    public async Task The_host_reads_its_tokens_and_the_proxy_its_token_from_systemd_credentials()
    {
        string hostCredentials = Credentials("host-credentials", "pvdrm-tokens", "vm1 s3cret-token\n");
        string guestCredentials = Credentials("guest-credentials", "pvdrm-token", "s3cret-token\n");
        string hostSocket = _processes["host.sock"], proxySocket = _processes["proxy.sock"];
        var host = _processes.StartWith("pvdrm-host", new Dictionary<string, string?> { ["CREDENTIALS_DIRECTORY"] = hostCredentials },
            "serve", "--listen", $"unix:{hostSocket}", "--set", $"pvdrm.host.control.unix={_processes["control.sock"]}");
        await host.WaitForFileAsync(hostSocket, Processes.Timeout);

        // vm1 is bound to its token: without it the host refuses, with PVDRM_TOKEN it admits.
        var refused = await _processes.Run("pvdrm-guest", "run", "gemm", "--host", $"unix:{hostSocket}", "--name", "vm1", "--size", "8", "--iterations", "1");
        Assert.Equal(1, refused.ExitCode);
        var admitted = _processes.StartWith("pvdrm-guest", new Dictionary<string, string?> { ["PVDRM_TOKEN"] = "s3cret-token" },
            "run", "gemm", "--host", $"unix:{hostSocket}", "--name", "vm1", "--size", "8", "--iterations", "1");
        Assert.True(await admitted.WaitAsync(Processes.Timeout) == 0, admitted.Stderr);

        // The proxy presents the credential's token for vm1.
        var proxy = _processes.StartWith("pvdrm-guest", new Dictionary<string, string?> { ["CREDENTIALS_DIRECTORY"] = guestCredentials },
            "serve", "--host", $"unix:{hostSocket}", "--listen", $"unix:{proxySocket}", "--name", "vm1");
        await proxy.WaitForFileAsync(proxySocket, Processes.Timeout);
        var through = await _processes.Run("pvdrm-guest", "run", "gemm", "--host", $"unix:{proxySocket}", "--size", "8", "--iterations", "1");
        Assert.True(through.ExitCode == 0, through.Stderr + proxy.Stderr);

        await proxy.StopAsync(Processes.Timeout);
        await host.StopAsync(Processes.Timeout);
    }

    private string Credentials(string folder, string name, string content)
    {
        string dir = _processes[folder];
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, name);
        File.WriteAllText(file, content);
        File.SetUnixFileMode(file, UnixFileMode.UserRead);
        return dir;
    }

    public void Dispose() => _processes.Dispose();
}
