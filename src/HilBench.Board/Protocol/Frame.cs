namespace HilBench.Board.Protocol;

/// <summary>
/// One message of PROTOCOL.md §1: the 8-byte header's fields and the payload (the CRC is the codec's business).
/// Two frames are equal when their fields and payload bytes are.
/// </summary>
public sealed record Frame(byte Version, bool IsReply, ushort RequestId, Command Command, Status Status, ReadOnlyMemory<byte> Payload)
{
    public const byte ProtocolVersion = 1;
    public const int HeaderLength = 8;
    public const int CrcLength = 4;
    public const int MaxPayload = 4096;
    public const int MinBody = HeaderLength + CrcLength;
    public const int MaxBody = HeaderLength + MaxPayload + CrcLength;

    /// <summary>The longest COBS encoding of a body (4125 bytes): a receiver never buffers more.</summary>
    public static readonly int MaxEncodedBody = Cobs.MaxEncodedLength(MaxBody);

    /// <summary>The most data one WRITE carries: the payload minus the 4-byte address.</summary>
    public const int MaxWriteData = MaxPayload - 4;

    public static Frame Request(ushort requestId, Command command, ReadOnlyMemory<byte> payload = default) =>
        new(ProtocolVersion, false, requestId, command, Status.Ok, payload);

    public static Frame Reply(ushort requestId, Command command, Status status, ReadOnlyMemory<byte> payload = default) =>
        new(ProtocolVersion, true, requestId, command, status, payload);

    public bool Equals(Frame? other) =>
        other is not null && Version == other.Version && IsReply == other.IsReply && RequestId == other.RequestId &&
        Command == other.Command && Status == other.Status && Payload.Span.SequenceEqual(other.Payload.Span);

    public override int GetHashCode() => HashCode.Combine(Version, IsReply, RequestId, Command, Status, Payload.Length);

    public override string ToString() =>
        $"{(IsReply ? "reply" : "request")} v{Version} id {RequestId} {ProtocolNames.Of(Command)}{(IsReply ? " " + ProtocolNames.Of(Status) : "")}, {Payload.Length} payload bytes";
}
