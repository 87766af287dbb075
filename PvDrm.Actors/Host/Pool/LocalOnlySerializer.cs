using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Event;
using Akka.Serialization;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// Takes the place of Akka's JSON serializer (<c>json</c>, identifier 1) on a pool node. That
/// one serializes any object and, reading, builds whatever type the sender names, so anyone
/// reaching the Akka.Remote port could hand <c>/user/pvdrm</c> a control request or make the
/// node instantiate a type of its choosing. The pool's nodes exchange nothing of their own over
/// remoting (they share state through Akka.DistributedData, whose messages have Akka's own
/// serializers), so no message of PvDrm's or of any other type without a dedicated serializer
/// is written to or read from the wire. Operators act through the local control socket.
/// </summary>
public sealed class LocalOnlySerializer(ExtendedActorSystem system) : Serializer(system)
{
    // Akka passes the serializer's settings section when it has one (json has).
    public LocalOnlySerializer(ExtendedActorSystem system, Akka.Configuration.Config _) : this(system)
    {
    }

    public override int Identifier => 1;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"pool: {obj.GetType()} is not sent to other nodes; only the pool's replicated data is (pvdrm.cluster)");

    public override object FromBinary(byte[] bytes, Type type)
    {
        // Logged here: Akka drops the message at a level operators do not see.
        string refusal = $"pool: refused a message of type {type?.FullName ?? "?"} from the network; control goes through the node's local control socket (pvdrm.host.control.unix)";
        system.Log.Warning("{0}", refusal);
        throw new SerializationException(refusal);
    }
}
