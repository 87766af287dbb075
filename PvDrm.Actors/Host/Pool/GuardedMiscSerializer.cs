using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Event;
using Akka.Remote.Serialization;
using Akka.Serialization;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// Akka's serializer of its small built-in messages (<c>akka-misc</c>: Identify, remote watch
/// heartbeats, ...) on a pool node, less the ones no node of the pool sends: PoisonPill and Kill
/// (a peer could stop <c>/user/pvdrm</c> and with it every guest) and Status.Failure (which
/// builds the exception type the sender names). Everything else is Akka's own code.
/// </summary>
public sealed class GuardedMiscSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    // Akka passes the serializer's settings section when it has one (json has).
    public GuardedMiscSerializer(ExtendedActorSystem system, Akka.Configuration.Config _) : this(system)
    {
    }

    // The manifests MiscMessageSerializer writes for PoisonPill, Kill and Status.Failure.
    private static readonly HashSet<string> Refused = new(StringComparer.Ordinal) { "PP", "K", "STF" };

    private readonly MiscMessageSerializer _inner = new(system);

    public override int Identifier => _inner.Identifier;

    public override byte[] ToBinary(object obj) => _inner.ToBinary(obj);

    public override string Manifest(object o) => _inner.Manifest(o);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Refused.Contains(manifest)) return _inner.FromBinary(bytes, manifest);
        string refusal = $"pool: refused Akka message '{manifest}' (PoisonPill, Kill or Status.Failure) from the network; control goes through the node's local control socket (pvdrm.host.control.unix)";
        system.Log.Warning("{0}", refusal);
        throw new SerializationException(refusal);
    }
}
