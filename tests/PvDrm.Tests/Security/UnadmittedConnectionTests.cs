using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit.Xunit2;
using PvDrm.Actors.Host;
using PvDrm.Protocol;
using PvDrm.Client;
using PvDrm.Native.Interop;
using PvDrm.Tests.Support;

namespace PvDrm.Tests.Security;

/// <summary>
/// Connections that have not said HELLO, as an attacker uses them: thousands of idle ones, one
/// that never speaks, junk before HELLO. They must cost the host almost nothing and never keep
/// a guest with credentials out.
/// </summary>
public class UnadmittedConnectionTests : TestKit, IDisposable
{
    private readonly TempDir _dir = new();

    public UnadmittedConnectionTests() : base("akka.loglevel = INFO") { }

    private string Socket => _dir["host.sock"];

    /// <summary>A host listening on a Unix socket file and on TCP (a bystander with a token comes from another peer).</summary>
    private HostHarness Host(string admission)
    {
        File.WriteAllText(_dir["tokens"], "bystander s3cret\n");
        File.SetUnixFileMode(_dir["tokens"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = ConfigurationFactory.ParseString($$"""
            pvdrm.host {
              listen.unix = "{{Socket}}"
              listen.tcp = "127.0.0.1:0"
              control.unix = ""
              auth.tokens-file = "{{_dir["tokens"]}}"
              admission {
                {{admission}}
              }
            }
            """);
        var host = new HostHarness(this, HostSettings.Create(config));
        AwaitCondition(() => File.Exists(Socket), HostHarness.Timeout, HostHarness.Poll);
        return host;
    }

    private string TcpEndpoint(HostHarness host) =>
        host.Host.Ask<string[]>(PvDrmHost.GetListening.Instance, HostHarness.Timeout).GetAwaiter().GetResult()
            .Single(l => l.StartsWith("tcp:", StringComparison.Ordinal));

    private static byte[] Hello(string name) =>
        FrameEncoder.EncodeRequest(new Requests.Hello(ProtocolLimits.Version, 0, 0, name, "") { RequestId = 1 });

    /// <summary>A bare header: a well-formed frame that is not HELLO.</summary>
    private static byte[] Junk(Op op, uint context)
    {
        var frame = new byte[FrameHeader.Size];
        new FrameHeader(FrameHeader.Size, op, 0, 1, context).Write(frame);
        return frame;
    }

    [Fact]
    public async Task Thousands_of_idle_connections_from_one_uid_are_capped_and_a_bystander_with_a_token_is_still_served()
    {
        var host = Host("unadmitted-per-peer = 8\nunadmitted-total = 64\nhello-timeout = 10 m");
        int count = IdleCrowd.Affordable(10_000);
        using var crowd = IdleCrowd.Connect(Socket, count);

        crowd.AwaitClosed(count - 8);
        Assert.Equal(count - 8, crowd.ClosedWith.Count);
        var reason = Assert.IsType<ReplyFrame>(crowd.ClosedWith[0]);
        Assert.True(reason.IsEvent);
        Assert.Equal(-Errno.EAGAIN, reason.Status);
        Assert.Contains("pvdrm.host.admission.unadmitted-per-peer", reason.Message);
        Assert.All(crowd.ClosedWith, f => Assert.Contains("unadmitted-per-peer", f?.Message));

        // Another peer, with a token, is admitted and served while the crowd holds its slots.
        await using (var bystander = await DrmClient.ConnectAsync(TcpEndpoint(host), new DrmClientOptions { Name = "bystander", Token = "s3cret" })
            .WaitAsync(HostHarness.Timeout))
            await Verified.FillAndCheck(await bystander.OpenContextAsync(), 0xB157A4D0);

        // The connections kept are live: they are still heard, and admitted, when they speak.
        using var kept = new RawGuest(crowd.Open[0]);
        kept.Send(Hello("kept"));
        Assert.Equal(0, kept.Receive().Status);
    }

    /// <summary>
    /// Before HELLO a TCP connection's kernel buffers are shrunk to about one HELLO frame, so idle
    /// connections pin almost no kernel memory; once admitted they are the normal size again.
    /// Read with getsockopt on the host's own end of the connection.
    /// </summary>
    [Fact]
    public void A_tcp_connection_has_small_kernel_buffers_until_its_hello_is_accepted()
    {
        var host = Host("hello-timeout = 10 m");
        string endpoint = TcpEndpoint(host);
        int port = int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]);
        using var guest = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        guest.Connect(System.Net.IPAddress.Loopback, port);
        int guestPort = ((System.Net.IPEndPoint)guest.LocalEndPoint!).Port;
        int small = 4 * host.Settings.Admission.HelloFrame; // the kernel doubles what is asked, and has a minimum

        AwaitAssert(() =>
        {
            var (receive, send) = HostSockets.Buffers(port, guestPort) ?? throw new Xunit.Sdk.XunitException("the host has not accepted yet");
            Assert.InRange(receive, 1, small);
            Assert.InRange(send, 1, small);
        }, HostHarness.Timeout, HostHarness.Poll);

        guest.Send(FrameEncoder.EncodeRequest(new Requests.Hello(ProtocolLimits.Version, 0, 0, "bystander", "s3cret") { RequestId = 1 }));
        guest.ReceiveTimeout = (int)HostHarness.Timeout.TotalMilliseconds;
        var header = new byte[FrameHeader.Size];
        Assert.Equal(header.Length, guest.Receive(header)); // the HELLO reply: admitted
        var (admittedReceive, admittedSend) = HostSockets.Buffers(port, guestPort)!.Value;
        Assert.True(admittedReceive > small, $"SO_RCVBUF {admittedReceive} after HELLO");
        Assert.True(admittedSend > small, $"SO_SNDBUF {admittedSend} after HELLO");
    }

    [Fact]
    public void The_total_cap_holds_whoever_the_peers_are()
    {
        Host("unadmitted-per-peer = 100\nunadmitted-total = 4\nhello-timeout = 10 m");
        using var crowd = IdleCrowd.Connect(Socket, 5);
        crowd.AwaitClosed(1);
        Assert.Contains("pvdrm.host.admission.unadmitted-total", crowd.ClosedWith.Single()?.Message);
    }

    [Fact]
    public void A_connection_that_sends_nothing_is_closed_at_the_hello_deadline()
    {
        Host("hello-timeout = 200 ms");
        using var silent = new RawGuest(IdleCrowd.BlockingConnect(Socket));

        var shutdown = silent.Receive();
        Assert.True(shutdown.IsEvent);
        Assert.Equal(-Errno.ETIMEDOUT, shutdown.Status);
        Assert.Contains("pvdrm.host.admission.hello-timeout", shutdown.Message);
        Assert.True(silent.IsClosed());
    }

    [Fact]
    public void A_malformed_frame_before_hello_gets_one_error_reply_and_the_connection_closes()
    {
        Host("hello-timeout = 10 m");
        using var junk = new RawGuest(IdleCrowd.BlockingConnect(Socket));
        // A well-formed header of an operation that does not exist: a request error, not a broken stream.
        junk.Send(Junk((Op)0x7777, context: 0));

        var reply = junk.Receive();
        Assert.Equal(-Errno.EOPNOTSUPP, reply.Status);
        Assert.True(junk.IsClosed());
    }

    [Fact]
    public void Refusals_before_hello_are_logged_per_peer_not_per_connection()
    {
        Host("hello-timeout = 10 m");
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Info));
        for (int i = 0; i < 3 * RefusalLogLimit; i++)
        {
            using var junk = new RawGuest(IdleCrowd.BlockingConnect(Socket));
            junk.Send(Junk(Op.GetVersion, context: 0));
            Assert.Equal(-Errno.EACCES, junk.Receive().Status);
            Assert.True(junk.IsClosed());
        }
        // Each refusal is logged (or counted) before its reply goes out, so every line is already here.
        int lines = 0;
        while (log.HasMessages)
            if (log.ReceiveOne(TimeSpan.Zero) is Info info && info.Message.ToString()!.Contains("before HELLO")) lines++;
        Assert.Equal(RefusalLogLimit, lines);
    }

    private const int RefusalLogLimit = 10;

    public new void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }
}
