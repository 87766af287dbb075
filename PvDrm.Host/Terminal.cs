using Spectre.Console;

namespace PvDrm.Host;

internal static class Terminal
{
    /// <summary>Piped output (CI logs, files) gets tables wide enough not to wrap, as a terminal would.</summary>
    public static void WideWhenRedirected()
    {
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
    }
}
