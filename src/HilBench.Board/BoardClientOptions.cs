namespace HilBench.Board;

/// <summary>How patient and how careful a <see cref="BoardClient"/> is. The defaults are PROTOCOL.md §4's host rules.</summary>
public sealed record BoardClientOptions
{
    /// <summary>How long to wait for a reply before resending; SET_OP adds the board's settle time, every frame the link's transfer time.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Resends (same request id) after a timeout, a damaged reply, BAD_CRC, BUSY or a first BAD_LENGTH; a request is tried 1 + Retries times.</summary>
    public int Retries { get; init; } = 4;

    /// <summary>Pause before resending after BUSY or a refused frame, times the attempt number.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>After the retries, reopen the port and HELLO again once before reporting the link as lost.</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>
    /// The host's own voltage floor in mV: SET_OP below max(board floor, this) is refused before anything is sent,
    /// for boards whose floor is lower than what the user is willing to risk.
    /// </summary>
    public int? VoltageFloorMv { get; init; }

    /// <summary>
    /// While the board is away from its nominal point, renew the lease (GET_TELEMETRY) whenever the link has been idle
    /// for a third of it, so a host that is busy elsewhere does not see its point reverted under it.
    /// </summary>
    public bool KeepLeaseAlive { get; init; } = true;

    /// <summary>Extra reply time per MiB a COMPARE or FILL covers: the board reads the whole range before it answers.</summary>
    public TimeSpan RangeAllowancePerMiB { get; init; } = TimeSpan.FromSeconds(1);
}
