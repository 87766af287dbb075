using System.Text.Json;
using System.Threading.Channels;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Actors.Host.Control.ControlProtocol;

namespace PvDrm.Actors.Host.Control;

/// <summary>Sends one admin command to a running host (or proxy) over its control socket.</summary>
public static class ControlClient
{
    /// <summary>
    /// Sends <paramref name="request"/> and returns the answer. The host's own limit bounds the
    /// request (<see cref="ControlProtocol.AnswerWithin"/>): while it runs, the host reports every
    /// <see cref="ControlProtocol.ProgressEvery"/> (handed to <paramref name="onPending"/>), so this
    /// only gives up after <paramref name="silence"/> without any frame.
    /// </summary>
    public static async Task<Response> SendAsync(string socketPath, Request request, TimeSpan silence, Action<Pending>? onPending = null)
    {
        Connection connection;
        try
        {
            connection = SeqPacketConnection.Connect(socketPath, new ConnectionOptions { MaxFrame = 1 << 20 });
        }
        catch (ErrnoException e)
        {
            throw new ErrnoException(e.Errno, $"no PvDrm host answers on {socketPath} ({e.Message}); is it running, and is this its control socket (pvdrm.host.control.unix)?");
        }
        var frames = new Frames();
        connection.Start(frames);
        try
        {
            connection.Send(JsonSerializer.SerializeToUtf8Bytes(request, Json));
            while (true)
            {
                var bytes = await frames.Reader.ReadAsync().AsTask().WaitAsync(silence);
                var response = Deserialize(bytes, socketPath);
                if (response.Pending is not { } pending) return response;
                onPending?.Invoke(pending);
            }
        }
        catch (TimeoutException)
        {
            throw new ErrnoException(Errno.ETIMEDOUT, $"the host on {socketPath} went silent: nothing within {silence.TotalSeconds:F0} s");
        }
        catch (ChannelClosedException e) when (e.InnerException is ErrnoException lost)
        {
            throw lost;
        }
        finally
        {
            connection.Close("done");
        }
    }

    private static Response Deserialize(byte[] bytes, string socketPath)
    {
        try
        {
            return JsonSerializer.Deserialize<Response>(bytes, Json) ?? new Response(false, "empty answer");
        }
        catch (JsonException e)
        {
            throw new ErrnoException(Errno.EPROTO, $"{socketPath} answered something that is not a control response ({e.Message})");
        }
    }

    private sealed class Frames : IFrameHandler
    {
        private readonly Channel<byte[]> _frames = System.Threading.Channels.Channel.CreateUnbounded<byte[]>();

        public ChannelReader<byte[]> Reader => _frames.Reader;

        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            _frames.Writer.TryWrite(frame.ToArray());
        }

        public void OnClosed(string reason) =>
            _frames.Writer.TryComplete(new ErrnoException(Errno.ECONNRESET, $"the host closed the control connection before it answered: {reason}"));
    }
}
