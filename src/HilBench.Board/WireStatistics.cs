namespace HilBench.Board;

/// <summary>
/// What went over a board link: bytes each way (everything the transport moved, garbage included), requests,
/// frames sent (resends included) and what went wrong on the way. Subtract two snapshots for one operation.
/// </summary>
public readonly record struct WireStatistics(
    long BytesSent,
    long BytesReceived,
    long Requests,
    long FramesSent,
    long Retries,
    long Timeouts,
    long DamagedReplies,
    long StaleReplies,
    long Reconnects,
    long LeaseRenewals)
{
    public static WireStatistics operator -(WireStatistics a, WireStatistics b) => new(
        a.BytesSent - b.BytesSent, a.BytesReceived - b.BytesReceived, a.Requests - b.Requests, a.FramesSent - b.FramesSent,
        a.Retries - b.Retries, a.Timeouts - b.Timeouts, a.DamagedReplies - b.DamagedReplies, a.StaleReplies - b.StaleReplies,
        a.Reconnects - b.Reconnects, a.LeaseRenewals - b.LeaseRenewals);

    public static WireStatistics operator +(WireStatistics a, WireStatistics b) => new(
        a.BytesSent + b.BytesSent, a.BytesReceived + b.BytesReceived, a.Requests + b.Requests, a.FramesSent + b.FramesSent,
        a.Retries + b.Retries, a.Timeouts + b.Timeouts, a.DamagedReplies + b.DamagedReplies, a.StaleReplies + b.StaleReplies,
        a.Reconnects + b.Reconnects, a.LeaseRenewals + b.LeaseRenewals);

    public long BytesOnTheWire => BytesSent + BytesReceived;
}
