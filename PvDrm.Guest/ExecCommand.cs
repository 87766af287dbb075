using PvDrm.Cli;
using System.CommandLine;
using System.Runtime.InteropServices;
using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using static Tmds.Linux.LibC;

namespace PvDrm.Guest;

/// <summary>
/// <c>pvdrm-guest exec -- PROGRAM ARGS</c>: runs an unmodified DRM program on a proxy's render
/// node. Sets LD_PRELOAD to libpvdrm_shim.so (beside this executable) and tells the shim where
/// the proxy's socket is, then replaces itself with the program (execve), so the program keeps
/// this process's id, terminal and exit status.
/// </summary>
internal static class ExecCommand
{
    public const string ShimLibrary = "libpvdrm_shim.so";
    public const string DefaultNode = "/dev/dri/renderD128";

    public static Command Create()
    {
        var config = CommonOptions.Config("the proxy's HOCON file, to find its render node socket (pvdrm.guest.shim.unix)");
        var shim = CommandValues.Endpoint("--shim", "the proxy's render node socket, unix:PATH (pvdrm.guest.shim.unix)", unixOnly: true);
        var node = CommandValues.Text("--node", $"the path the program opens (default: {DefaultNode})");
        var program = new Argument<string[]>("program") { Arity = ArgumentArity.OneOrMore, Description = "the program and its arguments, after --" };
        // Checks the tokens, not a converted value, so it cannot throw while validating.
        program.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[0].Value)) r.AddError("<program>: empty; expected a program to run");
        });
        var command = new Command("exec", "Run an unmodified DRM program (libdrm, libdrm_nouveau) on a proxy's render node") { config, shim, node, program };
        command.SetAction(parse =>
        {
            var overrides = PvDrmConfig.Overrides(ProxySettings.Root, ("shim.unix", parse.GetValue(shim)));
            var settings = ProxySettings.Create(PvDrmConfig.Load(parse.GetValue(config), overrides));
            string socket = ProxySettings.UnixPath(settings.ShimUnix
                ?? throw new ConfigurationException("pvdrm.guest.shim.unix is empty: give --shim unix:PATH, the proxy's render node socket"));
            string library = Path.Combine(AppContext.BaseDirectory, ShimLibrary);
            if (!File.Exists(library))
                throw new ConfigurationException($"{library} is missing: it is built with gcc, which was not found when pvdrm-guest was built");
            string preload = Environment.GetEnvironmentVariable("LD_PRELOAD") is { Length: > 0 } other ? $"{library}:{other}" : library;
            var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(k => k is not ("LD_PRELOAD" or "PVDRM_PROXY_SOCKET" or "PVDRM_RENDER_NODE"))
                .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)}")
                .Append($"LD_PRELOAD={preload}").Append($"PVDRM_PROXY_SOCKET={socket}").Append($"PVDRM_RENDER_NODE={parse.GetValue(node) ?? DefaultNode}");
            string[] argv = parse.GetValue(program)!;
            string path = Resolve(argv[0]) ?? throw new ConfigurationException($"{argv[0]}: no such program");
            int errno = Execute(path, argv, environment.ToArray());
            Console.Error.WriteLine($"pvdrm-guest exec: cannot run {path}: {Native.Interop.Errno.Name(errno)}");
            return 127;
        });
        return command;
    }

    /// <summary>The program's path: as given when it has a slash, else the first match on PATH.</summary>
    private static string? Resolve(string program) =>
        program.Contains('/') ? program
            : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>execve: returns only when it failed, with the errno.</summary>
    private static unsafe int Execute(string path, string[] argv, string[] environment)
    {
        var strings = new List<IntPtr>();
        byte** Block(string[] items)
        {
            var block = (byte**)NativeMemory.AllocZeroed((nuint)(items.Length + 1), (nuint)sizeof(byte*));
            for (int i = 0; i < items.Length; i++)
            {
                var s = Marshal.StringToCoTaskMemUTF8(items[i]);
                strings.Add(s);
                block[i] = (byte*)s;
            }
            return block;
        }
        byte** args = Block(argv), env = Block(environment);
        var file = Marshal.StringToCoTaskMemUTF8(path);
        execve((byte*)file, args, env);
        int error = errno;
        foreach (var s in strings) Marshal.FreeCoTaskMem(s);
        Marshal.FreeCoTaskMem(file);
        NativeMemory.Free(args);
        NativeMemory.Free(env);
        return error;
    }
}
