namespace PvDrm.Actors.Host.Control;

/// <summary>
/// The host's admin commands as typed messages, one record per command. <see cref="From"/> is
/// the one place that reads a control request's command name; the registry receives the types,
/// so the compiler lists every case and each handler gets exactly the fields its command has.
/// </summary>
public abstract record AdminCommand
{
    /// <summary>`status`: the host, its devices and its guests.</summary>
    public sealed record Status : AdminCommand
    {
        public static Status Instance { get; } = new();
    }

    /// <summary>`devices`: each device and the guests on it.</summary>
    public sealed record Devices : AdminCommand
    {
        public static Devices Instance { get; } = new();
    }

    /// <summary>`reload` (and SIGHUP): the configuration read again, nobody disconnected.</summary>
    public sealed record Reload : AdminCommand
    {
        public static Reload Instance { get; } = new();
    }

    /// <summary>`status --cluster`: the pool as this node sees it.</summary>
    public sealed record ClusterStatus : AdminCommand
    {
        public static ClusterStatus Instance { get; } = new();
    }

    /// <summary>`evict --guest G`: disconnected, everything it held released.</summary>
    public sealed record Evict(string Guest) : AdminCommand;

    /// <summary>`attach --guest G --device D`: in a pool, <paramref name="Device"/> may be <c>node/device</c>.</summary>
    public sealed record Attach(string Guest, string Device) : AdminCommand;

    /// <summary>`detach --guest G`: the guest keeps its connection and loses its device.</summary>
    public sealed record Detach(string Guest) : AdminCommand;

    /// <summary>`grant`: a container's share, its token and, with <paramref name="Device"/>, its device.</summary>
    public sealed record Grant(string Guest, string Token, string? Device) : AdminCommand;

    /// <summary>`set sequential on|off`.</summary>
    public sealed record SetSequential(bool On) : AdminCommand;

    /// <summary>A request that names no known command, or lacks what its command needs: answered with <paramref name="Reason"/>.</summary>
    public sealed record Invalid(string Reason) : AdminCommand;

    /// <summary>The command names <see cref="From"/> knows: what the host's control socket accepts.</summary>
    public static readonly string[] Names = ["status", "evict", "set", "devices", "attach", "detach", "grant", "cluster-status", "reload"];

    /// <summary>The command a control request (<see cref="ControlProtocol.Request"/>, the JSON of the socket) stands for.</summary>
    public static AdminCommand From(ControlProtocol.Request r) => r.Command switch
    {
        "status" => Status.Instance,
        "devices" => Devices.Instance,
        "reload" => Reload.Instance,
        "cluster-status" => ClusterStatus.Instance,
        "evict" => r.Guest != null ? new Evict(r.Guest) : new Invalid("evict needs a guest name"),
        "attach" => string.IsNullOrEmpty(r.Guest) ? new Invalid("attach needs a guest name (--guest)") : new Attach(r.Guest, r.Value ?? ""),
        "detach" => string.IsNullOrEmpty(r.Guest) ? new Invalid("detach needs a guest name (--guest)") : new Detach(r.Guest),
        "grant" => new Grant(r.Guest ?? "", r.Value ?? "", r.Key),
        "set" => r.Key == "sequential" && r.Value is "on" or "off" ? new SetSequential(r.Value == "on") : new Invalid("set takes: sequential on|off"),
        _ => new Invalid($"unknown command '{r.Command}'"),
    };
}
