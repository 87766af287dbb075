using Akka.TestKit.Xunit2;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Actors.Host.Control;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Host;

public class GuestRegistrySpec : TestKit
{
    private readonly HostHarness _host;

    public GuestRegistrySpec() => _host = new HostHarness(this);

    [Fact]
    public async Task A_second_guest_with_the_same_name_is_refused()
    {
        await using var first = await _host.ConnectAsync("twin");
        var error = await Assert.ThrowsAsync<DrmException>(() => _host.ConnectAsync("twin"));
        Assert.Equal(Errno.EBUSY, error.Errno);
        Assert.Contains("already connected", error.Message);
    }

    [Fact]
    public async Task An_invalid_guest_name_is_refused()
    {
        var error = await Assert.ThrowsAsync<DrmException>(() => _host.ConnectAsync("../etc"));
        Assert.Equal(Errno.EINVAL, error.Errno);
    }

    [Fact]
    public void A_request_before_hello_is_refused_and_the_connection_closed()
    {
        using var raw = new RawGuest(_host.ConnectRaw());
        raw.Send(FrameEncoder.EncodeRequest(new Requests.GetVersion { RequestId = 4 }));

        var reply = raw.Receive();
        Assert.Equal(-Errno.EACCES, reply.Status);
        Assert.Contains("HELLO must come first", reply.Message);
        Assert.True(raw.IsClosed());
    }

    [Fact]
    public void An_unknown_protocol_version_is_refused()
    {
        using var raw = new RawGuest(_host.ConnectRaw());
        raw.Send(FrameEncoder.EncodeRequest(new Requests.Hello(99, 0, 0, "future", "") { RequestId = 1 }));

        var reply = raw.Receive();
        Assert.Equal(-Errno.EPROTO, reply.Status);
        Assert.Contains("version 99", reply.Message);
    }

    [Fact]
    public void Control_requests_become_typed_commands_and_malformed_ones_are_answered_with_the_reason()
    {
        Assert.Equal(new AdminCommand.Attach("vm1", "soft1"), AdminCommand.From(new ControlProtocol.Request("attach", "vm1", Value: "soft1")));
        Assert.Equal(new AdminCommand.Detach("vm1"), AdminCommand.From(new ControlProtocol.Request("detach", "vm1")));
        Assert.Equal(new AdminCommand.SetSequential(true), AdminCommand.From(new ControlProtocol.Request("set", Key: "sequential", Value: "on")));
        Assert.Same(AdminCommand.Status.Instance, AdminCommand.From(new ControlProtocol.Request("status")));

        var answer = _host.Admin(new ControlProtocol.Request("set", Key: "sequential", Value: "maybe"));
        Assert.False(answer.Ok);
        Assert.Equal("set takes: sequential on|off", answer.Message);
        Assert.Equal("unknown command 'frobnicate'", _host.Admin(new ControlProtocol.Request("frobnicate")).Message);
        // Every name the socket accepts is one From knows.
        Assert.All(AdminCommand.Names, name =>
            Assert.DoesNotContain("unknown command", (AdminCommand.From(new ControlProtocol.Request(name, "vm1")) as AdminCommand.Invalid)?.Reason ?? ""));
    }
}
