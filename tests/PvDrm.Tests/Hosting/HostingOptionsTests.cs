using Akka.Configuration;
using PvDrm.Actors;
using PvDrm.Actors.Guest;
using PvDrm.Actors.Host;

namespace PvDrm.Tests.Hosting;

/// <summary>
/// The hosting options as HOCON: set properties over the given configuration over reference.conf,
/// read by the same settings classes, and the knobs that used to be constants.
/// </summary>
public class HostingOptionsTests
{
    [Fact]
    public void Set_properties_go_over_the_given_configuration_which_goes_over_the_reference()
    {
        var file = ConfigurationFactory.ParseString("pvdrm.host.sequential = on\npvdrm.host.limits.contexts-per-guest = 7");
        var options = new PvDrmHostOptions { Config = file, Sequential = false, Listen = "unix:/tmp/pvdrm-x/host.sock", ControlUnix = "" };

        var settings = HostSettings.Create(options.ToConfig());

        Assert.False(settings.Sequential);                        // the property over the file
        Assert.Equal(7, settings.ContextsPerGuest);               // the file over the reference
        Assert.Equal(256 * 1024, settings.Protocol.MaxFrame);     // the reference
        Assert.Equal("/tmp/pvdrm-x/host.sock", settings.ListenUnix);
        Assert.Null(settings.ControlUnix);
    }

    [Fact]
    public void A_bad_option_is_refused_naming_its_key()
    {
        var options = new PvDrmHostOptions();
        options.Extra["limits.send-queue"] = "1 KiB";

        var e = Assert.Throws<ConfigurationException>(() => HostSettings.Create(options.ToConfig()));

        Assert.Contains("pvdrm.host.limits.send-queue", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_send_queue_and_frames_per_wake_reach_the_hosts_connections()
    {
        var options = new PvDrmHostOptions();
        options.Extra["limits.send-queue"] = "4 MiB";
        options.Extra["frames-per-wake"] = "8";

        var connection = HostSettings.Create(options.ToConfig()).Connection;

        Assert.Equal(4L << 20, connection.MaxPendingSendBytes);
        Assert.Equal(8, connection.FramesPerWake);
    }

    [Fact]
    public void The_proxys_connection_limits_and_contexts_per_application_come_from_its_settings()
    {
        var options = new PvDrmGuestOptions { Name = "vm1", Cache = true };
        options.Extra["send-queue"] = "2 MiB";
        options.Extra["frames-per-wake"] = "16";
        options.Extra["contexts-per-application"] = "3";

        var settings = ProxySettings.Create(options.ToConfig());

        Assert.Equal("vm1", settings.Name);
        Assert.True(settings.Cache.Enabled);
        Assert.Equal(3, settings.ContextsPerApplication);
        Assert.Equal(2L << 20, settings.Connection.MaxPendingSendBytes);
        Assert.Equal(16, settings.Connection.FramesPerWake);
    }

    [Fact]
    public void Nothing_set_is_the_reference_configuration()
    {
        Assert.Equal("", new PvDrmHostOptions().ToHocon());
        var settings = ProxySettings.Create(new PvDrmGuestOptions().ToConfig());
        Assert.Equal(64, settings.ContextsPerApplication);
        Assert.Equal("unix:/run/pvdrm/host.sock", settings.Host);
    }

    [Fact]
    public void The_actors_library_knows_no_command_line_and_no_console_logger()
    {
        // An embedding application takes PvDrm.Actors without the executables' shell (PvDrm.Cli).
        var references = typeof(PvDrmHosting).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToArray();

        Assert.DoesNotContain("System.CommandLine", references);
        Assert.DoesNotContain(references, n => n!.StartsWith("Serilog", StringComparison.Ordinal));
    }
}
