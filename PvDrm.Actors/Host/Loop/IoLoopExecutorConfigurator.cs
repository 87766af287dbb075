using Akka.Configuration;
using Akka.Dispatch;

namespace PvDrm.Actors.Host.Loop;

/// <summary>
/// The executor of <see cref="IoLoopDispatcher"/>, named by its <c>executor</c> key: every mailbox
/// run is posted to the I/O loop. From the loop itself (an actor telling the next one) that is a
/// queue push the loop drains before it sleeps; from another thread it rings the loop's eventfd,
/// once per wake-up.
/// </summary>
internal sealed class IoLoopExecutorConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) => new LoopExecutor(id);

    private sealed class LoopExecutor(string id) : ExecutorService(id)
    {
        public override void Execute(IRunnable run) => IoLoopDispatcher.Loop.Post(run.Run);

        // The loop belongs to the process and outlives any actor system.
        public override void Shutdown()
        {
        }
    }
}
