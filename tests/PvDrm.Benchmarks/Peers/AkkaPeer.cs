using Akka.Actor;
using Akka.Configuration;

namespace PvDrm.Benchmarks.Peers;

/// <summary>The Akka.Remote peer of GET_PARAM: an Ask across two processes over Akka.Remote's TCP transport on 127.0.0.1.</summary>
public static class AkkaPeer
{
    public const string SystemName = "pvdrmbench";

    public sealed record GetParam(ulong Param);

    public sealed record ParamValue(ulong Value);

    private sealed class ParamActor : ReceiveActor
    {
        public ParamActor() => Receive<GetParam>(_ => Sender.Tell(new ParamValue(2)));
    }

    public static Config RemoteConfig(int port) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          actor.provider = remote
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
        }
        """);

    /// <summary>`pvdrm-bench --akka-server PORT`: an actor system with /user/param.</summary>
    public static async Task<int> RunServerAsync(int port, CancellationToken ct)
    {
        using var system = ActorSystem.Create(SystemName, RemoteConfig(port));
        system.ActorOf(Props.Create(() => new ParamActor()), "param");
        Console.WriteLine("ready");
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
        }
        await system.Terminate();
        return 0;
    }

    /// <summary>A client actor system (port chosen by the kernel) and the server's actor, resolved.</summary>
    public static async Task<(ActorSystem System, IActorRef Param)> ConnectAsync(int port)
    {
        var system = ActorSystem.Create("pvdrmbenchclient", RemoteConfig(0));
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    var param = await system.ActorSelection($"akka.tcp://{SystemName}@127.0.0.1:{port}/user/param").ResolveOne(TimeSpan.FromSeconds(3));
                    return (system, param);
                }
                catch (ActorNotFoundException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }
            }
        }
        catch
        {
            await system.Terminate();
            throw;
        }
    }
}
