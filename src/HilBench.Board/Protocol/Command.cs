namespace HilBench.Board.Protocol;

/// <summary>The command codes of PROTOCOL.md §3.</summary>
public enum Command : byte
{
    Hello = 0x01,
    SetOp = 0x02,
    GetTelemetry = 0x03,
    Write = 0x04,
    Read = 0x05,
    Fill = 0x06,
    Compare = 0x07,
    Lease = 0x08,
    Reset = 0x09,
}

/// <summary>The result codes of PROTOCOL.md §5: 0 in requests, the outcome in replies.</summary>
public enum Status : byte
{
    Ok = 0,
    BadCrc = 1,
    BadLength = 2,
    UnknownCommand = 3,
    AddressRange = 4,
    VoltageFloor = 5,
    Busy = 6,
    BadVersion = 7,
    BadArgument = 8,
    Internal = 9,
}

/// <summary>The names PROTOCOL.md gives commands and statuses, so messages read like the contract.</summary>
public static class ProtocolNames
{
    public static string Of(Command command) => command switch
    {
        Command.Hello => "HELLO",
        Command.SetOp => "SET_OP",
        Command.GetTelemetry => "GET_TELEMETRY",
        Command.Write => "WRITE",
        Command.Read => "READ",
        Command.Fill => "FILL",
        Command.Compare => "COMPARE",
        Command.Lease => "LEASE",
        Command.Reset => "RESET",
        _ => $"command 0x{(byte)command:x2}",
    };

    public static string Of(Status status) => status switch
    {
        Status.Ok => "OK",
        Status.BadCrc => "BAD_CRC",
        Status.BadLength => "BAD_LENGTH",
        Status.UnknownCommand => "UNKNOWN_COMMAND",
        Status.AddressRange => "ADDRESS_RANGE",
        Status.VoltageFloor => "VOLTAGE_FLOOR",
        Status.Busy => "BUSY",
        Status.BadVersion => "BAD_VERSION",
        Status.BadArgument => "BAD_ARGUMENT",
        Status.Internal => "INTERNAL",
        _ => $"status {(byte)status}",
    };
}
