using System.Diagnostics;
using System.Text;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// One running fake_drm: a FUSE mount in a temporary directory whose renderD128 answers DRM
/// ioctls (see native/fake_drm.c). <see cref="Stats"/> reads what it received. Dispose always
/// unmounts and ends the daemon, also after a failed test.
/// </summary>
internal sealed class FakeDrm : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string> s_binary = new(() =>
        NativeToolchain.Compile("fake_drm", ["fake_drm.c", "fake_files.c", "fake_nouveau.c"], "libdrm", "fuse3"));

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private FakeDrm(Process process, string mountPoint)
    {
        _process = process;
        MountPoint = mountPoint;
    }

    public string MountPoint { get; }

    public string DevicePath => Path.Combine(MountPoint, "renderD128");

    /// <summary>
    /// Compiles (once per run) and mounts a fake whose DRM_IOCTL_VERSION names <paramref name="driver"/>;
    /// each of <paramref name="failing"/> ("DRM_IOCTL_NOUVEAU_GETPARAM=5") makes that ioctl fail with that errno.
    /// </summary>
    public static FakeDrm Start(string driver, params string[] failing)
    {
        string mountPoint = Directory.CreateTempSubdirectory("pvdrm-fake-drm-").FullName;
        var info = new ProcessStartInfo(s_binary.Value) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("--driver");
        info.ArgumentList.Add(driver);
        foreach (string f in failing)
        {
            info.ArgumentList.Add("--fail");
            info.ArgumentList.Add(f);
        }
        info.ArgumentList.Add(mountPoint);
        var fake = new FakeDrm(Process.Start(info)!, mountPoint);
        fake._process.ErrorDataReceived += (_, e) => { lock (fake._stderr) fake._stderr.AppendLine(e.Data); };
        fake._process.BeginErrorReadLine();
        try
        {
            // The daemon prints "ready" from FUSE's init callback: the kernel has set up the mount.
            string? line = fake._process.StandardOutput.ReadLineAsync().WaitAsync(StartTimeout).GetAwaiter().GetResult();
            if (line != "ready")
                throw new InvalidOperationException($"fake_drm did not mount {mountPoint}: {fake.Stderr()}");
            return fake;
        }
        catch
        {
            fake.Dispose();
            throw;
        }
    }

    /// <summary>The fake's counters and last requests ("key value" lines of MOUNT/stats).</summary>
    public Dictionary<string, string> Stats() =>
        File.ReadAllLines(Path.Combine(MountPoint, "stats"))
            .Where(l => l.Contains(' '))
            .ToDictionary(l => l[..l.IndexOf(' ')], l => l[(l.IndexOf(' ') + 1)..]);

    /// <summary>How many times the fake received the named ioctl (e.g. "DRM_IOCTL_GET_CAP").</summary>
    public long Count(string ioctl) => Stats().TryGetValue(ioctl, out var n) ? long.Parse(n) : 0;

    public long TotalIoctls => long.Parse(Stats()["ioctls"]);

    private string Stderr()
    {
        lock (_stderr) return _stderr.ToString().Trim();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // Lazy unmount when something still holds the file open, so the daemon always ends.
            if (NativeToolchain.Run("fusermount3", "-u", MountPoint).ExitCode != 0)
                NativeToolchain.Run("fusermount3", "-u", "-z", MountPoint);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(10))) _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
        try { Directory.Delete(MountPoint); }
        catch (IOException) { }
    }
}

/// <summary>A fake per test class, started on first use so that skipped classes start nothing.</summary>
public abstract class FakeDrmFixture : IDisposable
{
    private readonly Lazy<FakeDrm> _fake;

    protected FakeDrmFixture(string driver)
    {
        _fake = new Lazy<FakeDrm>(() =>
        {
            NativeToolchain.Ensure(NativeToolchain.FakeDrmGap, NativeToolchain.RequireFakeDrm);
            return FakeDrm.Start(driver);
        });
    }

    internal FakeDrm Fake => _fake.Value;

    public void Dispose()
    {
        if (_fake.IsValueCreated) _fake.Value.Dispose();
    }
}

public sealed class FakeDumbDrmFixture() : FakeDrmFixture("fakedrm");

public sealed class FakeNouveauFixture() : FakeDrmFixture("nouveau");
