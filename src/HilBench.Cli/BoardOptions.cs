using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using HilBench.Board;
using HilBench.Board.Instruments;
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

    public Option<string?> PowerMonitor { get; } = new("--power-monitor")
    {
        Description = "with --backend board: a power monitor on the memory's supply rail measures each readback's energy, e.g. ina219:1 or ina236:1:0x41:0.008 " +
                      "(chip:I2C bus[:address[:shunt ohms]]); without it a board that measures its own current reports the energy",
        HelpName = "CHIP:BUS[:ADDR[:OHMS]]",
    };

    public IEnumerable<Option> All => [Backend, Port, Baud, VoltageFloor, PowerMonitor];

    /// <summary>Checks the board options; true when the board is chosen.</summary>
    public bool Validate(CommandResult r)
    {
        bool board = r.GetValue(Backend) == "board";
        if (board && r.GetResult(Port) is null) r.AddError("--backend board needs --port PATH (the board's serial port).");
        if (!board && (r.GetResult(Port) is not null || r.GetResult(Baud) is not null || r.GetResult(VoltageFloor) is not null || r.GetResult(PowerMonitor) is not null))
            r.AddError("--port, --baud, --voltage-floor and --power-monitor go with --backend board.");
        if (r.GetValue(VoltageFloor) is { } v && !(v > 0 && v < 10)) r.AddError($"--voltage-floor {v} is not a supply voltage in volts (e.g. 0.5).");
        return board;
    }

    /// <summary>Connects to the board (HELLO) when --backend board was given; null otherwise.</summary>
    public BoardBackend? Open(ParseResult r, PlacementPolicy policy = PlacementPolicy.Contiguous)
    {
        if (r.GetValue(Backend) != "board") return null;
        var rig = r.GetValue(PowerMonitor) is { } spec ? new BenchRig(OpenMonitor(spec), null) : null;
        try
        {
            var client = Connect(r);
            return new BoardBackend(client, new BoardBackendOptions { Rig = rig },
                image => Placement.Create(image.Layout, client.Board.Geometry, policy));
        }
        catch
        {
            rig?.Dispose();
            throw;
        }
    }

    /// <summary>"ina219:1", "ina236:1:0x41:0.008": the chip, its I2C bus, address (default 0x40) and shunt resistance.</summary>
    public static IPowerMonitor OpenMonitor(string spec)
    {
        var f = spec.Split(':');
        string usage = $"--power-monitor '{spec}' is not CHIP:BUS[:ADDRESS[:SHUNT_OHMS]] with CHIP ina219 or ina236, e.g. ina219:1 or ina236:1:0x41:0.008";
        if (f.Length is < 2 or > 4 || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int bus)) throw new CliException(usage);
        int address = 0x40;
        if (f.Length > 2 && !(f[2].StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? int.TryParse(f[2][2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out address)
                : int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out address)))
            throw new CliException(usage);
        double? shunt = null;
        if (f.Length > 3)
            shunt = double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double ohms) && ohms > 0 ? ohms : throw new CliException(usage);
        return f[0].ToLowerInvariant() switch
        {
            "ina219" => BenchInstruments.OpenIna219(bus, address, shunt is { } s219 ? new Ina219Options { ShuntOhms = s219 } : null),
            "ina236" => BenchInstruments.OpenIna236(bus, address, shunt is { } s236 ? new Ina236Options { ShuntOhms = s236 } : null),
            _ => throw new CliException(usage),
        };
    }

    /// <summary>Opens the port given by --port and says HELLO.</summary>
    public BoardClient Connect(ParseResult r)
    {
        string port = r.GetValue(Port) ?? throw new CliException("give the board's serial port with --port PATH");
        int? floor = r.GetValue(VoltageFloor) is { } v ? (int)Math.Ceiling(v * 1000 - 1e-9) : null;
        return BoardClient.Open(port, new BoardClientOptions { VoltageFloorMv = floor }, r.GetValue(Baud));
    }
}
