using Akka.Configuration;
using PvDrm.Native.Interop;

namespace PvDrm.Actors;

/// <summary>
/// Turns the failures a person can act on (bad configuration, a refused or failed request) into
/// one line on stderr and an exit code, instead of a stack trace.
/// </summary>
public static class CommandErrors
{
    /// <summary>Exit code for a configuration or usage error.</summary>
    public const int BadConfiguration = 2;

    public static async Task<int> Report(string what, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (e is ConfigurationException or FormatException)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return BadConfiguration;
        }
        catch (ErrnoException e)
        {
            Console.Error.WriteLine($"{what}: {e.Message}");
            return 1;
        }
    }
}
