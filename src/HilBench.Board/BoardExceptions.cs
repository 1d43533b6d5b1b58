using HilBench.Board.Protocol;

namespace HilBench.Board;

/// <summary>The board or its replies did something the host cannot use; the message says what and where.</summary>
public class BoardException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A reply that breaks PROTOCOL.md: a payload too short or too long for its command, a field out of its range,
/// a COMPARE that does not move forward. Retrying does not help; the firmware or the link setup is wrong.
/// </summary>
public sealed class BoardProtocolException(string message) : BoardException(message)
{
    internal static BoardProtocolException WrongSize(Command command, int actual, string expected) =>
        new($"{ProtocolNames.Of(command)} reply payload has {actual} bytes, expected {expected}");
}

/// <summary>The board answered with an error status (VOLTAGE_FLOOR, ADDRESS_RANGE, BAD_ARGUMENT, ...): it did not execute the request.</summary>
public sealed class BoardStatusException(string message, Command command, Status status, ushort requestId) : BoardException(message)
{
    public Command Command { get; } = command;

    public Status Status { get; } = status;

    public ushort RequestId { get; } = requestId;
}

/// <summary>
/// The board lost state the host relied on while the link was down: it went back to its nominal point (its lease ran
/// out) or it restarted (<see cref="MemoryLost"/>: its memory contents are gone). The request was not repeated. The
/// client reports it as the inner exception of a retryable <see cref="HilBench.Memory.Backends.MemoryBackendException"/>.
/// </summary>
public sealed class BoardStateLostException(string message, bool memoryLost) : BoardException(message)
{
    /// <summary>The board restarted: what was written to it must be written again.</summary>
    public bool MemoryLost { get; } = memoryLost;
}
