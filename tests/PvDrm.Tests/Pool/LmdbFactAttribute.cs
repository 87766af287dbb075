using PvDrm.Actors.Host.Pool;

namespace PvDrm.Tests.Pool;

/// <summary>
/// A pool test with durable placements, which need LMDB's native library (Debian: liblmdb0):
/// skipped with the reason where it does not load, except where CI sets <see cref="Require"/>=1.
/// </summary>
public sealed class LmdbFactAttribute : FactAttribute
{
    public const string Require = "PVDRM_REQUIRE_LMDB";

    public LmdbFactAttribute()
    {
        try
        {
            PlacementStore.CheckLibrary();
        }
        catch (Akka.Configuration.ConfigurationException e) when (Environment.GetEnvironmentVariable(Require) != "1")
        {
            Skip = $"{e.Message}; or set {Require}=1 to fail instead";
        }
    }
}
