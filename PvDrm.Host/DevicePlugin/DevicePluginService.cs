using Grpc.Core;
using PvDrm.Host.Containers;
using PvDrm.Host.DevicePlugin.V1Beta1;

namespace PvDrm.Host.DevicePlugin;

/// <summary>
/// The kubelet's view of the plugin (v1beta1.DevicePlugin): the shares and their health as a
/// stream, and for each container given a share, the same edits the CDI spec holds, with a token
/// minted for that allocation and granted to the share's guest name on the host.
/// </summary>
internal sealed class DevicePluginService(ShareBoard board, PluginContext context) : V1Beta1.DevicePlugin.DevicePluginBase
{
    public override Task<DevicePluginOptions> GetDevicePluginOptions(Empty request, ServerCallContext call) =>
        Task.FromResult(PluginContext.Options);

    public override async Task ListAndWatch(Empty request, IServerStreamWriter<ListAndWatchResponse> stream, ServerCallContext call)
    {
        var ct = call.CancellationToken;
        while (!ct.IsCancellationRequested)
        {
            var (version, list) = board.Snapshot();
            await stream.WriteAsync(list, ct);
            try
            {
                await board.ChangedSince(version).WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task<AllocateResponse> Allocate(AllocateRequest request, ServerCallContext call)
    {
        var response = new AllocateResponse();
        foreach (var container in request.ContainerRequests)
        {
            // One share per container: its credentials folder has one place in the container.
            if (container.DevicesIds.Count != 1)
                throw new RpcException(new Status(StatusCode.InvalidArgument,
                    $"a container takes exactly one {context.Settings.ResourceName} share, not {container.DevicesIds.Count}"));
            string id = container.DevicesIds[0];
            var share = board.Find(id) ?? throw new RpcException(new Status(StatusCode.NotFound, $"no share '{id}' on this node"));
            try
            {
                await ShareCredentials.MintAsync(share, context.ControlSocket, context.Settings);
            }
            catch (Exception e) when (e is not RpcException)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"share {id}: the host did not grant a token: {e.Message}"));
            }
            response.ContainerResponses.Add(Answer(share));
            board.Taken(id);
        }
        return response;
    }

    public override Task<PreferredAllocationResponse> GetPreferredAllocation(PreferredAllocationRequest request, ServerCallContext call)
    {
        var response = new PreferredAllocationResponse();
        foreach (var r in request.ContainerRequests)
        {
            // The ones the kubelet insists on, then shares not handed out yet, spread over devices.
            var chosen = r.MustIncludeDeviceIDs.ToList();
            var rest = r.AvailableDeviceIDs.Except(chosen)
                .OrderBy(board.IsTaken)
                .ThenBy(id => chosen.Count(c => board.Find(c)?.Device == board.Find(id)?.Device))
                .ThenBy(id => id, StringComparer.Ordinal);
            chosen.AddRange(rest.Take(Math.Max(0, r.AllocationSize - chosen.Count)));
            var answer = new ContainerPreferredAllocationResponse();
            answer.DeviceIDs.AddRange(chosen);
            response.ContainerResponses.Add(answer);
        }
        return Task.FromResult(response);
    }

    public override Task<PreStartContainerResponse> PreStartContainer(PreStartContainerRequest request, ServerCallContext call) =>
        Task.FromResult(new PreStartContainerResponse());

    private ContainerAllocateResponse Answer(Share share)
    {
        var edits = ContainerEdits.For(share, context.HostSocket, context.Settings);
        var answer = new ContainerAllocateResponse();
        foreach (var (key, value) in edits.Env) answer.Envs[key] = value;
        answer.Mounts.AddRange(edits.Mounts.Select(m => new Mount { HostPath = m.HostPath, ContainerPath = m.ContainerPath, ReadOnly = m.ReadOnly }));
        if (context.Settings.CdiDevices) answer.CdiDevices.Add(new CDIDevice { Name = $"{context.Settings.ResourceName}={share.Id}" });
        return answer;
    }
}
