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

    /// <summary>Refuses values of <paramref name="option"/> outside <paramref name="min"/>..<paramref name="max"/> (checked only when given).</summary>
    public static System.CommandLine.Option<int> Range(this System.CommandLine.Option<int> option, int min, int max)
    {
        option.Validators.Add(r =>
        {
            int value = r.GetValueOrDefault<int>();
            if (value < min || value > max) r.AddError($"{option.Name} must be {min}..{max}, not {value}");
        });
        return option;
    }

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
