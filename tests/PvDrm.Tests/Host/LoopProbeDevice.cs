using System.Collections.Concurrent;
using PvDrm.Native.Gpu;
using PvDrm.Native.Interop;

namespace PvDrm.Tests.Host;

/// <summary>
/// A device over another that remembers which threads made its calls, by the actor that makes
/// them: OPEN_CONTEXT (the guest's actor opens a session), GEM_NEW (the context creates a buffer),
/// GEM_INFO (the GEM actor reads the buffer's size) and GEM_WRITE (a copy). While
/// <see cref="HoldWrites"/> is in force, a write of at least <see cref="HeldWriteSize"/> bytes
/// blocks until <see cref="ReleaseWrites"/>: a device call stuck as long as the test wants.
/// </summary>
internal sealed class LoopProbeDevice(IGpuDevice inner, bool mayBlock = false) : IGpuDevice
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<string?>> _threads = new();
    private readonly SemaphoreSlim _writes = new(0);
    private volatile bool _holding;

    public int HeldWriteSize { get; set; } = int.MaxValue;

    /// <summary>Completes when a held write has started (and blocks).</summary>
    public TaskCompletionSource WriteHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The names of the threads that made <paramref name="call"/> so far.</summary>
    public IReadOnlyCollection<string?> ThreadsOf(string call) => _threads.TryGetValue(call, out var bag) ? bag.ToArray() : [];

    public void Forget() => _threads.Clear();

    public void HoldWrites(int size)
    {
        HeldWriteSize = size;
        _holding = true;
    }

    public void ReleaseWrites()
    {
        _holding = false;
        _writes.Release(int.MaxValue / 2);
    }

    private void Record(string call) => _threads.GetOrAdd(call, _ => new()).Add(Thread.CurrentThread.Name);

    public string Name => inner.Name;
    public DeviceInfo Info => inner.Info;
    public bool CallsMayBlock => mayBlock;
    public bool TryGetParam(ulong param, out ulong value) => inner.TryGetParam(param, out value);
    public bool TryGetCap(ulong cap, out ulong value) => inner.TryGetCap(cap, out value);
    public IGpuChannel CreateChannel() => inner.CreateChannel();
    public DeviceStats GetStats() => inner.GetStats();
    public void Dispose() => inner.Dispose();

    public IGpuSession OpenSession(string owner)
    {
        Record("open-session");
        return new SharedGpuSession(this);
    }

    public IGpuBuffer CreateBuffer(ulong size, GemDomain domain, uint flags)
    {
        Record("create-buffer");
        return new Buffer(this, inner.CreateBuffer(size, domain, flags));
    }

    private sealed class Buffer(LoopProbeDevice device, IGpuBuffer inner) : IGpuBuffer
    {
        public ulong Size
        {
            get
            {
                device.Record("buffer-size");
                return inner.Size;
            }
        }

        public GemDomain Domain => inner.Domain;
        public FileDescriptor Fd => inner.Fd;
        public void Read(ulong offset, Span<byte> destination) => inner.Read(offset, destination);
        public void AddRef() => inner.AddRef();
        public void Release() => inner.Release();

        public void Write(ulong offset, ReadOnlySpan<byte> source)
        {
            device.Record("write");
            if (device._holding && source.Length >= device.HeldWriteSize)
            {
                device.WriteHeld.TrySetResult();
                device._writes.Wait();
            }
            inner.Write(offset, source);
        }
    }
}
