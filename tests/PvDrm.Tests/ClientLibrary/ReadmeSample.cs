using System.Text;
using PvDrm.Client;

namespace PvDrm.Tests.ClientLibrary;

/// <summary>
/// The sample program of PvDrm.Client/README.md, verbatim between the markers (its using
/// directives are this file's): <see cref="ReadmeSampleTests"/> checks the two are the same text and runs it.
/// </summary>
internal static class ReadmeSample
{
    public static async Task RunAsync(string[] args)
    {
        // sample:begin
        // The guest proxy's socket (pvdrm-guest serve); tcp:HOST:PORT and vsock:CID:PORT work too.
        string endpoint = args.Length > 0 ? args[0] : "unix:/run/pvdrm/guest.sock";

        await using var client = await DrmClient.ConnectAsync(endpoint, new DrmClientOptions { Name = "hello-gem" });
        await using var context = await client.OpenContextAsync();

        var gem = await context.GemNewAsync(4096);
        byte[] text = Encoding.UTF8.GetBytes("hello from a PvDrm guest");
        await gem.WriteAsync(0, text);

        var back = new byte[text.Length];
        await gem.ReadAsync(0, back);
        Console.WriteLine(Encoding.UTF8.GetString(back));
        await gem.CloseAsync();
        // sample:end
    }
}
