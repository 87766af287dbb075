using PvDrm.Cli;
using System.CommandLine;
using PvDrm.Actors;
using PvDrm.Client;
using PvDrm.Native.Interop;

namespace PvDrm.Guest;

/// <summary>
/// `pvdrm-guest check`: asks a host (or proxy) what its device does for this guest, one step per
/// line: version and capabilities, a context, a buffer, mapping it (the host's dma-buf or memfd)
/// with bytes written there read back through GEM_READ, closing it. A refused step prints the
/// errno and the host's message. Written to try real kernel drivers (DRM.md) without a workload.
/// </summary>
internal static class CheckCommand
{
    private const ulong DrmCapDumbBuffer = 0x1, DrmCapPrime = 0x5;

    public static Command Create()
    {
        var host = CommandValues.Endpoint("--host", "the host or proxy to use: unix:PATH, tcp:HOST:PORT or vsock:CID:PORT", unixOnly: false, "unix:/run/pvdrm/guest.sock");
        var name = CommandValues.Text("--name", "the name in HELLO (default: the machine's host name)");
        var token = CommandValues.Text("--token", "the token to present, if the host requires one");
        var hold = new Option<bool>("--hold") { Description = "keep the context and its buffer until standard input closes (to look at the host meanwhile)" };
        var command = new Command("check", "Show what the host's device does for this guest: version, caps, a buffer mapped, read back and closed") { host, name, token, hold };
        command.SetAction(async (parse, ct) =>
        {
            var options = new DrmClientOptions { Name = parse.GetValue(name) ?? Environment.MachineName, Token = parse.GetValue(token) ?? "" };
            await using var client = await DrmClient.ConnectAsync(parse.GetValue(host)!, options, ct);
            var v = await client.GetVersionAsync();
            Console.WriteLine($"version: ok {v.Name} {v.Major}.{v.Minor}.{v.Patch} ({v.Description})");
            await Step("cap prime", async () => (object)await client.GetCapAsync(DrmCapPrime), c => $"{c}");
            await Step("cap dumb-buffer", async () => (object)await client.GetCapAsync(DrmCapDumbBuffer), c => $"{c}");
            await using var context = await client.OpenContextAsync();
            Console.WriteLine($"context: ok {context.Id}");
            var gem = await Step("gem-new", () => context.GemNewAsync(64 * 1024), g => $"handle {g.Handle}, {g.Size} bytes, {g.Domain}");
            if (gem == null) return CommandErrors.Failed;
            bool same = await MappedBytesReadBack(gem);
            if (parse.GetValue(hold))
            {
                Console.WriteLine("holding: until standard input closes");
                await Console.In.ReadToEndAsync(ct);
            }
            bool closed = await Done("gem-close", gem.CloseAsync);
            return same && closed ? CommandErrors.Success : CommandErrors.Failed;
        });
        return command;
    }

    /// <summary>Writes a pattern through the mapping, then reads it back with GEM_READ: the same pages, or not.</summary>
    private static async Task<bool> MappedBytesReadBack(GemObject gem)
    {
        var mapping = await Step("gem-map", gem.MapAsync, m => $"{m.Length} bytes mapped");
        if (mapping == null) return false;
        var pattern = new byte[4096];
        new Random(7).NextBytes(pattern);
        pattern.CopyTo(mapping.Bytes(0, pattern.Length));
        var back = new byte[pattern.Length];
        await gem.ReadAsync(0, back);
        bool same = back.AsSpan().SequenceEqual(pattern);
        Console.WriteLine(same ? "gem-read of mapped bytes: ok same bytes" : "gem-read of mapped bytes: failed the host read other bytes than the guest wrote");
        return same;
    }

    private static async Task<T?> Step<T>(string step, Func<Task<T>> action, Func<T, string> describe) where T : class
    {
        try
        {
            var result = await action();
            Console.WriteLine($"{step}: ok {describe(result)}".TrimEnd());
            return result;
        }
        catch (ErrnoException e)
        {
            Console.WriteLine($"{step}: failed {Errno.Name(e.Errno)} {(e as DrmException)?.HostMessage ?? e.Message}");
            return null;
        }
    }

    private static async Task<bool> Done(string step, Func<Task> action) =>
        await Step<object>(step, async () => { await action(); return step; }, _ => "") != null;
}
