using System.CommandLine;
using System.CommandLine.Parsing;
using HilBench.Board;
using HilBench.Board.Transport;
using HilBench.Memory.Geometry;

namespace HilBench.Cli;

/// <summary>
/// <c>--backend board --port PATH [--baud N] [--voltage-floor V]</c>: the weights go to a memory board over a
/// serial link (docs: firmware-protocol/PROTOCOL.md). Shared by every command that chooses a backend and by
/// <c>hilbench board</c>.
/// </summary>
public sealed class BoardOptions
{
    public Option<string?> Backend { get; } = new Option<string?>("--backend")
    {
        Description = "where the weights are stored: 'board' (a memory board over a serial port, with --port); by default the other memory options decide",
        HelpName = "board",
    }.AcceptOnlyFromAmong("board");

    public Option<string?> Port { get; } = new("--port") { Description = "with --backend board: the board's serial port, e.g. /dev/ttyACM0 or the PTY line of hilboard-emu", HelpName = "PATH" };

    public Option<int> Baud { get; } = CliOptions.Integer("--baud", "with --backend board: serial baud rate", SerialPortTransport.DefaultBaudRate, 1);

    public Option<double?> VoltageFloor { get; } = new("--voltage-floor")
    {
        Description = "with --backend board: never set the board below this supply voltage in volts (the board's own floor always holds)",
        HelpName = "V",
    };

    public IEnumerable<Option> All => [Backend, Port, Baud, VoltageFloor];

    /// <summary>Checks the board options; true when the board is chosen.</summary>
    public bool Validate(CommandResult r)
    {
        bool board = r.GetValue(Backend) == "board";
        if (board && r.GetResult(Port) is null) r.AddError("--backend board needs --port PATH (the board's serial port).");
        if (!board && (r.GetResult(Port) is not null || r.GetResult(Baud) is not null || r.GetResult(VoltageFloor) is not null))
            r.AddError("--port, --baud and --voltage-floor go with --backend board.");
        if (r.GetValue(VoltageFloor) is { } v && !(v > 0 && v < 10)) r.AddError($"--voltage-floor {v} is not a supply voltage in volts (e.g. 0.5).");
        return board;
    }

    /// <summary>Connects to the board (HELLO) when --backend board was given; null otherwise.</summary>
    public BoardBackend? Open(ParseResult r, PlacementPolicy policy = PlacementPolicy.Contiguous)
    {
        if (r.GetValue(Backend) != "board") return null;
        var client = Connect(r);
        return new BoardBackend(client, new BoardBackendOptions(),
            image => Placement.Create(image.Layout, client.Board.Geometry, policy));
    }

    /// <summary>Opens the port given by --port and says HELLO.</summary>
    public BoardClient Connect(ParseResult r)
    {
        string port = r.GetValue(Port) ?? throw new CliException("give the board's serial port with --port PATH");
        int? floor = r.GetValue(VoltageFloor) is { } v ? (int)Math.Ceiling(v * 1000 - 1e-9) : null;
        return BoardClient.Open(port, new BoardClientOptions { VoltageFloorMv = floor }, r.GetValue(Baud));
    }
}
