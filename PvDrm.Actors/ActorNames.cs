using Akka.Actor;

namespace PvDrm.Actors;

/// <summary>Child names that stay readable (gem-7) and still never collide with a child that is stopping.</summary>
internal static class ActorNames
{
    private static long s_serial;

    /// <summary>
    /// <paramref name="name"/> if free; otherwise (a closed handle reused before its old actor has
    /// stopped) the name with a serial suffix.
    /// </summary>
    public static string Unique(IActorContext context, string name) =>
        context.Child(name).IsNobody() ? name : $"{name}~{Interlocked.Increment(ref s_serial)}";
}
