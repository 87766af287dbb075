using PvDrm.Client;
using PvDrm.Protocol;
using PvDrm.Native.Interop;
using static PvDrm.Protocol.Requests;

namespace PvDrm.Actors.Guest;

/// <summary>
/// The operations of an <see cref="AppContext"/>, each written once: the checks and translation
/// of the application's ids to the host's, then the forward with what its reply does.
/// </summary>
internal sealed partial class AppContext
{
    private void ReceiveOperations()
    {
        Receive<GemNew>(r =>
        {
            if (!_cached.TryServe(r))
                NewHandle(r, r.Handle, h => r with { Handle = h }, (reply, info) => _cached.Opened(info.Handle, new GemShape(info.Size, info.Domain, r.GemFlags), shared: false));
        });
        Receive<GemImport>(r =>
        {
            // Refused alike whether or not the cache uses the name, so its names cannot be told apart.
            if (_names.Names.Refusal(r.Name, _names.Owner) is { } refusal) r.Fail(Errno.EACCES, refusal);
            else if (_cache?.IsInternalName(r.Name) == true) r.Fail(Errno.ENOENT, $"GEM_IMPORT: no GEM object has the global name {r.Name} for this guest");
            else NewHandle(r, r.Handle, h => r with { Handle = h }, (reply, info) =>
            {
                _names.Names.Imported(r.Name, _names.Owner, new HostHandle(_hostId, info.Handle));
                _cached.Opened(info.Handle, new GemShape(info.Size, info.Domain, 0), shared: true);
            });
        });
        // The descriptor rides along.
        Receive<PrimeImport>(r => NewHandle(r, r.Handle, h => r with { Handle = h },
            (reply, info) => _cached.Opened(info.Handle, new GemShape(info.Size, info.Domain, 0), shared: true)));
        Receive<GemClose>(r =>
        {
            if (_cached.TryKeep(r)) return;
            // Unmapped at once: the application may reuse the handle before the host has answered.
            if (!_handles.TryRemove(r.Handle, out uint host))
            {
                UnknownHandle(r, r.Handle);
                return;
            }
            _cached.Closed(host);
            _names.Names.Closed(_names.Owner, new HostHandle(_hostId, host));
            Forward(r, r with { Handle = host });
        });
        Receive<GemExport>(r =>
        {
            // Names are guest-wide (no translation), and each application holds a bounded number.
            if (!_handles.TryGetHost(r.Handle, out uint host)) UnknownHandle(r, r.Handle);
            else if (_names.Names.Reserve(_names.Owner, new HostHandle(_hostId, host)) is { } refusal) r.Fail(Errno.ENOSPC, refusal);
            else
            {
                _cached.Shared(host);
                Forward(r, r with { Handle = host }, reply =>
                {
                    // A handle closed meanwhile keeps no name: the place reserved for it is given back.
                    bool kept = reply.Status == 0 && _handles.TryGetHost(r.Handle, out _);
                    _names.Names.Exported(kept ? reply.Read<Replies.Name>().Number : 0, _names.Owner, new HostHandle(_hostId, host));
                    r.Relay(reply);
                });
            }
        });
        Receive<PrimeExport>(r => WithHandle(r, r.Handle, h =>
        {
            _cached.Shared(h);
            Forward(r, r with { Handle = h }, reply => RelayMap(r, reply, r.Handle));
        }));
        Receive<GemInfo>(r => WithHandle(r, r.Handle, h => Forward(r, r with { Handle = h }, reply =>
        {
            if (reply.Status == 0) RelayInfo(r, reply, reply.Read<Replies.GemInfo>());
            else r.Relay(reply);
        })));
        Receive<GemMap>(r =>
        {
            // A descriptor this context had before answers without the host (a cache hit saves the map too).
            if (_handles.TryGetHost(r.Handle, out uint known) && _cached.KeptFd(known) is { } fd)
            {
                _cache!.Pool.CountSaved(1);
                r.Reply(new Replies.GemMap(Native.Memory.MemFd.SizeOf(fd), MapOffset.Of(r.Handle)), fd);
                return;
            }
            WithHandle(r, r.Handle, host => Forward(r, r with { Handle = host }, reply =>
            {
                if (reply.Status == 0 && reply.Fd == null && reply.Read<Replies.GemMap>() is { RegionOffset: not Replies.GemMap.NoRegion } placed)
                {
                    MapInRegion(r, placed);
                    return;
                }
                if (reply.Status == 0 && reply.Fd != null && _handles.TryGetHost(r.Handle, out uint still)) _cached.Mapped(still, reply.Fd);
                RelayMap(r, reply, r.Handle);
            }));
        });
        Receive<GemRead>(r => WithHandle(r, r.Handle, h => Forward(r, r with { Handle = h })));
        Receive<GemWrite>(r => WithHandle(r, r.Handle, h => Forward(r, r with { Handle = h })));
        Receive<CpuPrep>(r => WithHandle(r, r.Handle, h => Forward(r, r with { Handle = h })));
        Receive<CpuFini>(r => WithHandle(r, r.Handle, h => Forward(r, r with { Handle = h })));
        Receive<ChannelAlloc>(r =>
        {
            if (r.Channel == 0) r.Fail(Errno.EINVAL, "CHANNEL_ALLOC: channel 0 is reserved; choose a non-zero id");
            else if (!_channels.TryAdd(r.Channel, out uint host)) r.Fail(Errno.EEXIST, $"CHANNEL_ALLOC: channel {r.Channel} is already allocated in context {_appId}");
            else Forward(r, r with { Channel = host }, reply =>
            {
                if (reply.Status != 0) _channels.TryRemove(r.Channel, out _);
                r.Relay(reply);
            });
        });
        Receive<ChannelFree>(r =>
        {
            if (_channels.TryRemove(r.Channel, out uint host)) Forward(r, r with { Channel = host });
            else r.Fail(Errno.ENOENT, $"CHANNEL_FREE: channel {r.Channel} is not allocated in context {_appId}");
        });
        Receive<Requests.Pushbuf>(Pushbuf);
        Receive<FenceWait>(r => Forward(r, r));
    }

    /// <summary>
    /// A request that creates a handle: the application's new handle maps to a fresh host one at
    /// once (so pipelined requests can name it); a failure unmaps it, a success runs
    /// <paramref name="opened"/> and answers with the application's handle.
    /// </summary>
    private void NewHandle(Request r, uint appHandle, Func<uint, Request> translate, Action<ReplyFrame, Replies.GemInfo> opened)
    {
        if (appHandle == 0) r.Fail(Errno.EINVAL, $"{OpTable.NameOf(r.Op)}: handle 0 is reserved; choose a non-zero handle");
        else if (!_handles.TryAdd(appHandle, out uint host)) r.Fail(Errno.EEXIST, $"{OpTable.NameOf(r.Op)}: handle {appHandle} is already in use in context {_appId}");
        else Forward(r, translate(host), reply =>
        {
            if (reply.Status != 0)
            {
                _handles.TryRemove(appHandle, out _);
                r.Relay(reply, default(ReadOnlySpan<byte>));
                return;
            }
            var info = reply.Read<Replies.GemInfo>();
            opened(reply, info);
            RelayInfo(r, reply, info);
        });
    }

    private void WithHandle(Request r, uint appHandle, Action<uint> forward)
    {
        if (!_handles.TryGetHost(appHandle, out uint host))
        {
            UnknownHandle(r, appHandle);
            return;
        }
        _cached.Touched(host);
        forward(host);
    }

    private void UnknownHandle(Request r, uint handle) =>
        r.Fail(Errno.ENOENT, $"{OpTable.NameOf(r.Op)}: handle {handle} is not a GEM object in context {_appId}");

    private void Pushbuf(Requests.Pushbuf r)
    {
        if (!_channels.TryGetHost(r.Channel, out uint channel))
        {
            r.Fail(Errno.ENOENT, $"PUSHBUF: channel {r.Channel} is not allocated in context {_appId}");
            return;
        }
        var buffers = new PushbufBuffer[r.Buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            if (!_handles.TryGetHost(r.Buffers[i].Handle, out uint host))
            {
                r.Fail(Errno.ENOENT, $"PUSHBUF: buffer {i}: handle {r.Buffers[i].Handle} is not a GEM object in context {_appId}");
                return;
            }
            buffers[i] = r.Buffers[i] with { Handle = host };
        }
        foreach (var buffer in buffers) _cached.Touched(buffer.Handle);
        Forward(r, r with { Channel = channel, Buffers = buffers });
    }

    /// <summary>
    /// GEM_MAP of a buffer the host placed in the VM's shared region: the application gets the
    /// region's file and region_offset, and maps the buffer's range of it as it maps any GEM_MAP
    /// descriptor (zero copy, also for the shim's mmap). The file is the proxy's and is not kept
    /// per handle: a later GEM_MAP asks the host again for the offset.
    /// </summary>
    private void MapInRegion(GemMap r, Replies.GemMap placed)
    {
        if (!GuestRegion.MayGrant(_region, placed.RegionOffset, placed.Size, out int errno, out string why))
        {
            r.Fail(errno, $"GEM_MAP: handle {r.Handle}: {why}");
            return;
        }
        // Mapped, so the cache never hands these pages to another application while this one may hold them.
        if (_handles.TryGetHost(r.Handle, out uint still)) _cached.Mapped(still, null);
        r.Reply(placed with { MapOffset = MapOffset.Of(r.Handle) }, _region!.Fd);
    }

    /// <summary>Relays a GEM_MAP or PRIME_EXPORT reply (its descriptor rides along) with the application's map offset.</summary>
    private static void RelayMap(Request r, ReplyFrame reply, uint appHandle)
    {
        if (reply.Status == 0) r.Relay(reply, reply.Read<Replies.GemMap>() with { MapOffset = MapOffset.Of(appHandle) });
        else r.Relay(reply);
    }

    /// <summary>Relays GEM info with the application's handle (and its map offset) in place of the host's.</summary>
    private void RelayInfo(Request r, ReplyFrame reply, in Replies.GemInfo info)
    {
        uint app = _handles.TryGetApp(info.Handle, out uint a) ? a : 0;
        r.Relay(reply, info with { Handle = app, MapOffset = MapOffset.Of(app) });
    }
}
