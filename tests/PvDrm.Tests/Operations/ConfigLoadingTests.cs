using PvDrm.Cli;
using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Operations;

/// <summary>
/// `--config` as a person may give it: no file, an empty file, /dev/null, a directory, an
/// unreadable file, a syntax error. Each either works or fails with its own message naming the file.
/// </summary>
public class ConfigLoadingTests : IDisposable
{
    private readonly TempDir _dir = new();

    private static string Refusal(string? path) => Assert.Throws<ConfigurationException>(() => PvDrmConfig.Load(path)).Message;

    [Fact]
    public void No_file_an_empty_file_and_dev_null_give_the_defaults_to_host_and_guest_settings()
    {
        File.WriteAllText(_dir["empty.hocon"], "");
        File.WriteAllText(_dir["comments.hocon"], "# nothing set here\n// nor here\n");
        foreach (var path in new[] { null, _dir["empty.hocon"], _dir["comments.hocon"], "/dev/null" })
        {
            var config = PvDrmConfig.Load(path);
            // Every settings class puts the reference beneath what it is given: also when what it is given is the reference.
            Assert.Equal("unix:/run/pvdrm/host.sock", ProxySettings.Create(config).Host);
            Assert.Equal(TimeSpan.FromSeconds(30), HostSettings.Create(config).RequestTimeout);
            Assert.Equal("text", PvDrmApplication.LogSettings(config).Format);
            Assert.False(PvDrm.Actors.Host.Pool.ClusterSettings.Create(config).Enabled);
        }
    }

    [Theory]
    [InlineData("pvdrm.guest.upstream { window = 64, in-flight-per-application = 64 }", UpstreamLimits.Keys.InFlightPerApplication)]
    [InlineData("pvdrm.guest.upstream { max-queued-bytes = 1 MiB, max-queued-bytes-per-application = 1 MiB }", UpstreamLimits.Keys.MaxQueuedBytesPerApplication)]
    public void One_application_may_not_be_given_the_whole_upstream_window_or_queue(string text, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => ProxySettings.Create(ConfigurationFactory.ParseString(text)));
        Assert.StartsWith(key, error.Message);
    }

    [Theory]
    [InlineData("pvdrm.host.limits.max-frame = 64 KiB", 64 * 1024)] // the default slot limit is lowered to the frame limit, not refused
    [InlineData("pvdrm.host.limits.max-frame = 64 KiB\npvdrm.host.ring.max-slot-size = 16 KiB", 16 * 1024)]
    [InlineData("pvdrm.host.ring.max-slot-size = 32 MiB", 256 * 1024)]
    public void The_ring_slot_limit_is_read_in_its_own_range_and_held_to_the_frame_limit(string text, int expected)
    {
        var settings = HostSettings.Create(ConfigurationFactory.ParseString(text));
        Assert.Equal(expected, settings.Ring.Limits.MaxSlotSize);
    }

    [Fact]
    public void The_proxys_ring_is_read_from_pvdrm_guest_ring()
    {
        var ring = ProxySettings.Create(ConfigurationFactory.ParseString(
            "pvdrm.guest.ring { enabled = off, slots = 32, slot-size = 32 KiB, max-bytes = 4 MiB, max-slot-size = 16 KiB, max-slots = 16 }")).Ring;
        Assert.False(ring.Enabled);
        Assert.Equal(new Native.Io.Ring.RingShape(32 * 1024, 32, 32), ring.Shape);
        Assert.Equal((4ul << 20, 16 * 1024, 16), (ring.Limits.MaxBytes, ring.Limits.MaxSlotSize, ring.Limits.MaxSlots));
        Assert.Equal("pvdrm.guest.ring.max-bytes", ring.Limits.BytesKey);
    }

    [Theory]
    [InlineData("pvdrm.guest.ring.slot-size = 48 KiB", "pvdrm.guest.ring.slots/slot-size")] // not a power of two
    [InlineData("pvdrm.guest.ring.slot-size = 4 KiB", "pvdrm.guest.ring.slot-size")] // below a GEM_WRITE chunk's slot
    [InlineData("pvdrm.guest.ring { enabled = on\nslot-size = 256 KiB }", "pvdrm.guest.upstream.window")] // 224 waiting requests of 256 KiB: past the ring's bound
    public void A_proxy_ring_that_cannot_work_is_refused_by_its_key(string text, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => ProxySettings.Create(ConfigurationFactory.ParseString(text)));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void A_ring_slot_limit_outside_its_own_range_is_refused_by_its_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => HostSettings.Create(ConfigurationFactory.ParseString("pvdrm.host.ring.max-slot-size = 1 KiB")));
        Assert.Contains("pvdrm.host.ring.max-slot-size", error.Message);
    }

    [Fact]
    public void A_missing_file_and_a_directory_are_each_refused_with_their_own_message()
    {
        Assert.Equal($"config file {_dir["nothing.hocon"]} (--config) does not exist", Refusal(_dir["nothing.hocon"]));
        Assert.Equal($"config file {_dir.Path} (--config) is a directory; expected a HOCON file", Refusal(_dir.Path));
    }

    [NotRootFact]
    public void An_unreadable_file_is_refused_as_unreadable()
    {
        File.WriteAllText(_dir["secret.hocon"], "pvdrm.guest.name = x\n");
        File.SetUnixFileMode(_dir["secret.hocon"], UnixFileMode.None);

        Assert.Contains("cannot be read: permission denied", Refusal(_dir["secret.hocon"]));
    }

    [Theory]
    [InlineData("pvdrm.host {\n  sequential = on\n", "line 1: '{' is never closed")]
    [InlineData("pvdrm.host.sequential = on\n}\n", "line 2: '}' closes nothing")]
    [InlineData("pvdrm.guest.name = \"vm1\n", "line 1: a quoted string is not closed on its line")]
    [InlineData("pvdrm.host.listen.tcp = [\"a\", \"b\"}\n", "line 1: '}' closes the '[' of line 1")]
    [InlineData("= on\n", "line 1: a value without a key")]
    [InlineData("pvdrm.host.limits.max-frame = ${nowhere}\n", "Unresolved substitution")]
    public void A_syntax_error_is_refused_with_its_line(string text, string expected)
    {
        File.WriteAllText(_dir["broken.hocon"], text);

        string message = Refusal(_dir["broken.hocon"]);

        Assert.StartsWith($"config file {_dir["broken.hocon"]} (--config) is not valid HOCON: ", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void The_shipped_configuration_files_pass_the_syntax_check()
    {
        // reference.conf as the binaries carry it: the resource PvDrmConfig.Reference parses.
        using (var embedded = new StreamReader(typeof(PvDrmConfig).Assembly.GetManifestResourceStream("PvDrm.Actors.reference.conf")!))
            Assert.Null(HoconSyntax.Check(embedded.ReadToEnd()));
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "deploy"), "*.hocon"))
        {
            Assert.Null(HoconSyntax.Check(File.ReadAllText(file)));
            PvDrmConfig.Load(file);
        }
    }

    public void Dispose() => _dir.Dispose();
}
