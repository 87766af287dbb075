using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.DistributedData.Durable;
using Akka.Event;
using Akka.Serialization;
using LightningDB;

namespace PvDrm.Actors.Host.Pool;

/// <summary>
/// The replicator's durable store on a pool node (<c>akka.cluster.distributed-data.durable</c>,
/// for the placements only): every replicated value is committed to a LightningDB file in
/// pvdrm.cluster.state-dir before the write is acknowledged, and loaded back when the node
/// starts, so a pool stopped whole and started again keeps its placements. Akka's own
/// Akka.DistributedData.LightningDB store is built against a LightningDB release this project
/// cannot obtain (it fails with MissingMethodException on 0.23), so this actor speaks the same
/// durable-store protocol (LoadAll, LoadData, LoadAllCompleted, Store) over LightningDB 0.23.
/// </summary>
public sealed class PlacementStore : ReceiveActor
{
    private readonly LightningEnvironment _environment;
    private readonly SerializerWithStringManifest _serializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="durable">The <c>durable</c> section; its <c>pvdrm-lmdb</c> names the folder and the map size.</param>
    static PlacementStore() =>
        // LightningDB asks for "lmdb": its bundled build, else liblmdb.so; Debian's liblmdb0 ships only liblmdb.so.0.
        System.Runtime.InteropServices.NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, (name, assembly, paths) =>
            name != "lmdb" ? IntPtr.Zero
            : System.Runtime.InteropServices.NativeLibrary.TryLoad(name, assembly, paths, out var handle) ? handle
            : System.Runtime.InteropServices.NativeLibrary.TryLoad("liblmdb.so.0", out handle) ? handle : IntPtr.Zero);

    public PlacementStore(Config durable)
    {
        var lmdb = durable.GetConfig("pvdrm-lmdb") ?? throw new ConfigurationException("akka.cluster.distributed-data.durable.pvdrm-lmdb is missing");
        string dir = lmdb.GetString("dir");
        Directory.CreateDirectory(dir);
        _environment = new LightningEnvironment(dir, new EnvironmentConfiguration
        {
            MapSize = lmdb.GetByteSize("map-size") ?? 64 * 1024 * 1024,
            MaxDatabases = 1,
        });
        _environment.Open();
        using (var tx = _environment.BeginTransaction())
        using (tx.OpenDatabase(configuration: new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create }))
            tx.Commit();
        // Akka's replicator serializer, which names the type by a manifest stored before the bytes.
        _serializer = (SerializerWithStringManifest)Context.System.Serialization.FindSerializerForType(typeof(DurableDataEnvelope));
        Receive<LoadAll>(_ => LoadAll());
    }

    public static Props Props(Config durable) => Akka.Actor.Props.Create(() => new PlacementStore(durable));

    /// <summary>
    /// Before the node starts: LMDB's native library loads. LightningDB's own build needs a recent
    /// glibc; the system's liblmdb (Debian: liblmdb0) is used where it does not load.
    /// </summary>
    public static void CheckLibrary()
    {
        try
        {
            using var probe = new LightningEnvironment(Path.GetTempPath());
        }
        catch (DllNotFoundException e)
        {
            throw new ConfigurationException($"{ClusterSettings.Root}.state-dir: the durable placements need LMDB's library, which did not load (install liblmdb0 (Debian), or leave state-dir empty to keep placements in memory): {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Once, at start: every stored value to the replicator, then the end of the load.</summary>
    private void LoadAll()
    {
        try
        {
            var loaded = ImmutableDictionary.CreateBuilder<string, DurableDataEnvelope>();
            using (var tx = _environment.BeginTransaction(TransactionBeginFlags.ReadOnly))
            using (var db = tx.OpenDatabase())
            using (var cursor = tx.CreateCursor(db))
                for (var (code, key, value) = cursor.First(); code == MDBResultCode.Success; (code, key, value) = cursor.Next())
                {
                    byte[] stored = value.CopyToNewArray();
                    int end = Array.IndexOf(stored, (byte)'\n');
                    if (end < 0) throw new System.Runtime.Serialization.SerializationException($"entry {Encoding.UTF8.GetString(key.AsSpan())} has no manifest");
                    loaded[Encoding.UTF8.GetString(key.AsSpan())] =
                        (DurableDataEnvelope)_serializer.FromBinary(stored[(end + 1)..], Encoding.UTF8.GetString(stored, 0, end));
                }
            if (loaded.Count > 0) Sender.Tell(new LoadData(loaded.ToImmutable()));
            Sender.Tell(LoadAllCompleted.Instance);
            _log.Info("pool: loaded {0} durable entries from {1}", loaded.Count, _environment.Path);
        }
        catch (Exception e) when (e is LightningException or IOException or System.Runtime.Serialization.SerializationException or ArgumentException)
        {
            // The replicator stops, and with it the pool on this node: better than forgetting every placement.
            throw new LoadFailedException($"pool: the placements in {_environment.Path} (pvdrm.cluster.state-dir) could not be read: {e.Message}", e);
        }
        Become(Storing);
    }

    /// <summary>Committed before the replicator hears it was stored (no write-behind: a placement is rare and must survive a kill).</summary>
    private void Storing()
    {
        Receive<Store>(store =>
        {
            try
            {
                using (var tx = _environment.BeginTransaction())
                using (var db = tx.OpenDatabase())
                {
                    byte[] manifest = Encoding.UTF8.GetBytes(_serializer.Manifest(store.Data) + "\n");
                    tx.Put(db, Encoding.UTF8.GetBytes(store.Key), (byte[])[.. manifest, .. _serializer.ToBinary(store.Data)]);
                    tx.Commit();
                }
                store.Reply?.ReplyTo.Tell(store.Reply.SuccessMessage);
            }
            catch (LightningException e)
            {
                _log.Error(e, "pool: storing {0} in {1} (pvdrm.cluster.state-dir) failed", store.Key, _environment.Path);
                store.Reply?.ReplyTo.Tell(store.Reply.FailureMessage);
            }
        });
    }

    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);
        Become(Storing); // loaded once, at the first start
    }

    protected override void PostStop() => _environment.Dispose();
}
