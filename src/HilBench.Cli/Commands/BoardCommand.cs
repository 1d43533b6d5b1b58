using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Board;
using BoardCapabilities = HilBench.Board.Protocol.BoardCapabilities;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench board info|telemetry|readback|compare</c>: talk to a memory board directly (firmware-protocol/PROTOCOL.md):
/// what it is, what it measures, what it reads back at an operating point, and which bits of a known pattern read wrong there.
/// </summary>
public static class BoardCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("board", "Talk to a memory board over its serial port: info, telemetry, readback, compare.");
        command.Subcommands.Add(Info(context));
        command.Subcommands.Add(TelemetryCommand(context));
        command.Subcommands.Add(Readback(context));
        command.Subcommands.Add(Compare(context));
        return command;
    }

    /// <summary>--port, --baud and --voltage-floor without --backend: every board subcommand talks to a board.</summary>
    private sealed class Link
    {
        public readonly BoardOptions Options = new();

        public Link(Command command)
        {
            Options.Port.Required = true;
            command.Options.Add(Options.Port);
            command.Options.Add(Options.Baud);
            command.Options.Add(Options.VoltageFloor);
        }

        public BoardClient Connect(ParseResult r) => Options.Connect(r);
    }

    private static Command Info(CliContext context)
    {
        var json = CliOptions.Json();
        var command = new Command("info", "The board's HELLO: firmware, protocol version, memory geometry, operating-point ranges, capabilities.") { json };
        var link = new Link(command);
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            using var client = link.Connect(r);
            var b = client.Board;
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["port"] = client.Port,
                    ["firmware"] = b.Firmware,
                    ["protocol_version"] = b.Version,
                    ["geometry"] = b.Geometry.ToString(),
                    ["bits"] = b.TotalBits,
                    ["voltage_mv"] = new JsonObject { ["nominal"] = b.VoltageNominalMv, ["floor"] = b.VoltageFloorMv, ["max"] = b.VoltageMaxMv, ["step"] = b.VoltageStepMv },
                    ["host_floor_mv"] = client.VoltageFloorMv,
                    ["trcd_ns"] = b.Has(BoardCapabilities.Trcd)
                        ? new JsonObject { ["nominal"] = b.TrcdNominal / 100.0, ["min"] = b.TrcdMin / 100.0, ["max"] = b.TrcdMax / 100.0, ["step"] = b.TrcdStep / 100.0 } : null,
                    ["temperature_c"] = b.Has(BoardCapabilities.Temperature)
                        ? new JsonObject { ["nominal"] = b.TemperatureNominal / 10.0, ["min"] = b.TemperatureMin / 10.0, ["max"] = b.TemperatureMax / 10.0, ["step"] = b.TemperatureStep / 10.0 }
                        : new JsonObject { ["nominal"] = b.TemperatureNominal / 10.0 },
                    ["settle_ms"] = b.SettleMs,
                    ["lease_ms"] = b.LeaseMs,
                    ["max_payload"] = b.MaxPayload,
                    ["capabilities"] = new JsonArray(Enum.GetValues<BoardCapabilities>().Where(c => c != 0 && b.Has(c)).Select(c => (JsonNode?)c.ToString()).ToArray()),
                });
                return CliErrors.Success;
            }
            var o = context.Out;
            o.WriteLine($"board       {b.Firmware} on {client.Port}, protocol {b.Version}");
            o.WriteLine($"memory      {b.Geometry} ({Formatting.Count(b.TotalBits)} bits, {b.WordBits}-bit words)");
            o.WriteLine($"voltage     nominal {b.VoltageNominalMv} mV, {b.VoltageFloorMv}..{b.VoltageMaxMv} mV in {b.VoltageStepMv} mV steps (host floor {client.VoltageFloorMv} mV)");
            o.WriteLine(b.Has(BoardCapabilities.Trcd)
                ? $"tRCD        nominal {b.TrcdNominal / 100.0} ns, {b.TrcdMin / 100.0}..{b.TrcdMax / 100.0} ns in {b.TrcdStep / 100.0} ns steps"
                : "tRCD        not controlled");
            o.WriteLine(b.Has(BoardCapabilities.Temperature)
                ? $"temperature nominal {b.TemperatureNominal / 10.0} C, {b.TemperatureMin / 10.0}..{b.TemperatureMax / 10.0} C in {b.TemperatureStep / 10.0} C steps"
                : $"temperature {b.TemperatureNominal / 10.0} C, not controlled");
            o.WriteLine($"settle      {b.SettleMs} ms after a new operating point; lease {b.LeaseMs} ms");
            o.WriteLine($"features    {b.Capabilities}");
            return CliErrors.Success;
        }));
        return command;
    }

    private static Command TelemetryCommand(CliContext context)
    {
        var json = CliOptions.Json();
        var command = new Command("telemetry", "What the board measures now: supply voltage, current, temperature, lease.") { json };
        var link = new Link(command);
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            using var client = link.Connect(r);
            var t = client.GetTelemetry();
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["port"] = client.Port,
                    ["voltage_set_mv"] = t.SetVoltageMv,
                    ["voltage_measured_mv"] = t.MeasuredVoltageMv,
                    ["current_ua"] = client.Board.Has(BoardCapabilities.Current) ? t.CurrentMicroamps : null,
                    ["temperature_c"] = t.TemperatureC,
                    ["trcd_ns"] = client.Board.Has(BoardCapabilities.Trcd) ? t.TrcdTenPs / 100.0 : null,
                    ["uptime_ms"] = t.UptimeMs,
                    ["lease_remaining_ms"] = t.LeaseRemainingMs,
                    ["lease_expired"] = t.LeaseExpired,
                });
                return CliErrors.Success;
            }
            var o = context.Out;
            o.WriteLine($"voltage     {t.MeasuredVoltageMv} mV measured, {t.SetVoltageMv} mV set");
            if (client.Board.Has(BoardCapabilities.Current)) o.WriteLine($"current     {t.CurrentMicroamps / 1000.0:F3} mA");
            o.WriteLine($"temperature {t.TemperatureC:F1} C");
            o.WriteLine($"lease       {t.LeaseRemainingMs} ms left{(t.LeaseExpired ? "; it expired earlier and the board went back to nominal" : "")}");
            o.WriteLine($"uptime      {t.UptimeMs / 1000.0:F1} s");
            return CliErrors.Success;
        }));
        return command;
    }

    private static Command Readback(CliContext context)
    {
        var address = Address();
        var length = new Option<long?>("--length") { Description = "bytes to read (default: to the end of the memory)", HelpName = "BYTES" };
        var op = new Option<string?>("--op") { Description = "read at this operating point (e.g. \"V=0.55\"), then return to nominal; default: nominal", HelpName = "POINT" };
        var output = new Option<string>("--out", "-o") { Description = "file for the bytes read", HelpName = "FILE", Required = true };
        var format = new Option<string>("--format") { Description = "bin (raw bytes) or hex (32 bytes a line), as hilbench calibrate reads them", HelpName = "bin|hex", DefaultValueFactory = _ => "bin" }
            .AcceptOnlyFromAmong("bin", "hex");
        var command = new Command("readback", "Read a range of the board's memory (optionally at a lowered operating point) into a dump file.") { address, length, op, output, format };
        var link = new Link(command);
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            using var client = link.Connect(r);
            var (start, count) = Range(client, r.GetValue(address), r.GetValue(length));
            var point = r.GetValue(op) is { } text ? client.ToBoardPoint(OperatingPoint.Parse(text, client.Board.NominalPoint)) : client.Board.Nominal;
            var data = new byte[count];
            var before = client.Statistics;
            client.SetOperatingPoint(point);
            try
            {
                const int chunk = 4096;
                for (long at = 0; at < count; at += chunk)
                    client.Read(start + at, (int)Math.Min(chunk, count - at)).CopyTo(data, at);
            }
            finally
            {
                client.RestoreNominal();
            }
            string path = r.GetRequiredValue(output);
            if (r.GetValue(format) == "bin") OutputFiles.WriteBytes(path, data);
            else OutputFiles.WriteText(path, w =>
            {
                for (int i = 0; i < data.Length; i += 32) w.WriteLine(Convert.ToHexString(data, i, Math.Min(32, data.Length - i)).ToLowerInvariant());
            });
            var wire = client.Statistics - before;
            context.Out.WriteLine($"read {Formatting.Count(count)} bytes from byte {start} at {point}: {Formatting.Count(wire.BytesOnTheWire)} bytes on the wire");
            context.Out.WriteLine($"wrote {Formatting.DisplayPath(path)}");
            return CliErrors.Success;
        }));
        return command;
    }

    private static Command Compare(CliContext context)
    {
        var pattern = new Option<string>("--pattern")
        {
            Description = "the word written before lowering the point, in hex, repeated (little-endian bytes: 0x55AA writes AA 55 AA 55 ...)",
            HelpName = "HEX",
            DefaultValueFactory = _ => "0xFFFFFFFF",
        };
        var address = Address();
        var length = new Option<long?>("--length") { Description = "bytes to compare (default: to the end of the memory)", HelpName = "BYTES" };
        var op = new Option<string?>("--op") { Description = "the operating point, e.g. \"V=0.55\" (with --voltages: the other fields)", HelpName = "POINT" };
        var voltages = new Option<string?>("--voltages") { Description = "several supply voltages: START:STOP:STEP or a list", HelpName = "RANGE" }
            .CheckedBy(text => SweepCommand.ParseVoltages(text));
        var repeats = CliOptions.Integer("--repeats", "COMPAREs per point (repeats show transient faults)", 1, 1);
        var faultMap = new Option<string?>("--fault-map") { Description = "write every point's faults as a HilBench fault map (for --replay and calibrate --fault-map)", HelpName = "FILE" };
        var json = CliOptions.Json();
        var command = new Command("compare", "Write a pattern, lower the operating point, and list the bits that read wrong (only those cross the link).")
        {
            pattern, address, length, op, voltages, repeats, faultMap, json,
        };
        var link = new Link(command);
        command.Validators.Add(r =>
        {
            if (r.GetResult(op) is null && r.GetResult(voltages) is null) r.AddError("give the operating point: --op POINT or --voltages RANGE.");
        });
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            byte[] bytes = ParsePattern(r.GetRequiredValue(pattern));
            using var client = link.Connect(r);
            var (start, count) = Range(client, r.GetValue(address), r.GetValue(length));
            var basePoint = r.GetValue(op) is { } text ? OperatingPoint.Parse(text, client.Board.NominalPoint) : client.Board.NominalPoint;
            var points = r.GetValue(voltages) is { } list
                ? SweepCommand.ParseVoltages(list).Select(v => basePoint with { Voltage = v }).ToArray()
                : [basePoint];
            foreach (var p in points) client.ToBoardPoint(p); // refuse a bad point before writing anything
            int n = r.GetValue(repeats);
            var scans = new List<(ScanPoint Scan, int? Repeat)>();
            using var cancel = new CtrlC();
            string? mapPath = r.GetValue(faultMap);
            var setup = client.Statistics;
            try
            {
                // What is measured stays on disk, even if the board goes away.
                PatternScan.Run(client, points, n, start, count, bytes, scans, (_, _) =>
                {
                    if (mapPath is not null)
                        OutputFiles.WriteText(mapPath, PatternScan.ToFaultMap(client.Board, scans, $"{client.Board.Firmware}, pattern {r.GetValue(pattern)}").Save);
                }, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                context.Error.WriteLine($"interrupted after {scans.Count} of {points.Length * n} reads{(mapPath is null ? "" : $"; they are in {mapPath}")}");
                return TrainCommand.Interrupted;
            }
            catch (MemoryBackendException e) when (mapPath is not null)
            {
                throw new CliException($"{e.Message}; the {scans.Count} reads measured are in {mapPath}", e);
            }
            var fill = scans.Count > 0 ? client.Statistics - setup - scans.Aggregate(default(WireStatistics), (sum, s) => sum + s.Scan.Wire) : default;
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["port"] = client.Port,
                    ["firmware"] = client.Board.Firmware,
                    ["pattern"] = r.GetValue(pattern),
                    ["address"] = start,
                    ["bytes"] = count,
                    ["fill_bytes_on_wire"] = fill.BytesOnTheWire,
                    ["fault_map"] = mapPath is null ? null : Path.GetFullPath(mapPath),
                    ["points"] = new JsonArray(scans.Select(s => (JsonNode?)new JsonObject
                    {
                        ["op"] = s.Scan.Point.ToString(),
                        ["repeat"] = s.Repeat,
                        ["voltage_measured_mv"] = s.Scan.Telemetry.MeasuredVoltageMv,
                        ["current_ua"] = client.Board.Has(BoardCapabilities.Current) ? s.Scan.Telemetry.CurrentMicroamps : null,
                        ["temperature_c"] = s.Scan.Telemetry.TemperatureC,
                        ["faults"] = s.Scan.Cells.Length,
                        ["bit_error_rate"] = s.Scan.BitErrorRate,
                        ["flips_1_to_0"] = s.Scan.Read.Count(v => !v),
                        ["flips_0_to_1"] = s.Scan.Read.Count(v => v),
                        ["bytes_sent"] = s.Scan.Wire.BytesSent,
                        ["bytes_received"] = s.Scan.Wire.BytesReceived,
                        ["retries"] = s.Scan.Wire.Retries,
                        ["seconds"] = s.Scan.Elapsed.TotalSeconds,
                    }).ToArray()),
                });
                return CliErrors.Success;
            }
            var o = context.Out;
            o.WriteLine($"board     {client.Board.Firmware} on {client.Port}");
            o.WriteLine($"pattern   {r.GetValue(pattern)} over {Formatting.Count(count)} bytes from byte {start} ({Formatting.Count(fill.BytesOnTheWire)} bytes on the wire to write it)");
            o.Flush();
            var table = Formatting.Table("operating point", ">measured", ">faults", ">BER", ">1->0", ">0->1", ">bytes on wire", ">seconds");
            foreach (var (s, k) in scans)
                Formatting.Row(table, s.Point + (k is { } rep ? $" #{rep}" : ""), $"{s.Telemetry.MeasuredVoltageMv} mV", Formatting.Count(s.Cells.Length),
                    s.BitErrorRate.ToString("G3", CultureInfo.InvariantCulture), Formatting.Count(s.Read.Count(v => !v)), Formatting.Count(s.Read.Count(v => v)),
                    Formatting.Count(s.Wire.BytesOnTheWire), s.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture));
            context.Console.Write(table);
            if (mapPath is not null) o.WriteLine($"wrote {Formatting.DisplayPath(mapPath)}");
            return CliErrors.Success;
        }));
        return command;
    }

    private static Option<long> Address() => new("--address")
    {
        Description = "first byte (byte a holds cells 8a..8a+7)",
        HelpName = "BYTE",
        DefaultValueFactory = _ => 0,
    };

    private static (long Start, long Count) Range(BoardClient client, long start, long? length)
    {
        long total = client.Board.TotalBytes;
        if (start < 0 || start >= total) throw new CliException($"--address {start} is outside the board's {total} bytes");
        long count = length ?? total - start;
        if (count <= 0 || start + count > total) throw new CliException($"--length {count} from byte {start} does not fit the board's {total} bytes");
        return (start, count);
    }

    /// <summary>"0xFFFF" or "55aa": a word of 1..16 bytes, sent least significant byte first.</summary>
    public static byte[] ParsePattern(string text)
    {
        string hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        if (hex.Length == 0 || hex.Length % 2 != 0 || hex.Length > 32 || !hex.All(Uri.IsHexDigit))
            throw new CliException($"--pattern '{text}' is not a hex word of 1 to 16 bytes, e.g. 0xFFFF or 0x55AA");
        var bytes = Convert.FromHexString(hex);
        Array.Reverse(bytes);
        return bytes;
    }
}
