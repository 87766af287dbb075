using System.Text.Json;
using PvDrm.Native.Interop;
using PvDrm.Native.Io;
using static PvDrm.Actors.Host.Control.ControlProtocol;

namespace PvDrm.Actors.Host.Control;

/// <summary>Sends one admin command to a running host over its control socket.</summary>
public static class ControlClient
{
    public static async Task<Response> SendAsync(string socketPath, Request request, TimeSpan timeout)
    {
        Connection connection;
        try
        {
            connection = SeqPacketConnection.Connect(socketPath, new ConnectionOptions { MaxFrame = 1 << 20 });
        }
        catch (ErrnoException e)
        {
            throw new ErrnoException(e.Errno, $"no PvDrm host answers on {socketPath} ({e.Message}); is it running, and is this its pvdrm.host.control.unix?");
        }
        var answer = new Answer();
        connection.Start(answer);
        try
        {
            connection.Send(JsonSerializer.SerializeToUtf8Bytes(request, Json));
            var bytes = await answer.Task.WaitAsync(timeout);
            return JsonSerializer.Deserialize<Response>(bytes, Json) ?? new Response(false, "empty answer");
        }
        catch (TimeoutException)
        {
            throw new ErrnoException(Errno.ETIMEDOUT, $"the host on {socketPath} did not answer within {timeout.TotalSeconds:F0} s");
        }
        finally
        {
            connection.Close("done");
        }
    }

    private sealed class Answer : IFrameHandler
    {
        private readonly TaskCompletionSource<byte[]> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]> Task => _tcs.Task;

        public void OnFrame(ReadOnlySpan<byte> frame, FileDescriptor? fd)
        {
            fd?.Dispose();
            _tcs.TrySetResult(frame.ToArray());
        }

        public void OnClosed(string reason) =>
            _tcs.TrySetException(new ErrnoException(Errno.ECONNRESET, $"the host closed the control connection: {reason}"));
    }
}
