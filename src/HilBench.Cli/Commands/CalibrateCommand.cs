using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Board;
using HilBench.Calibration;
using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Report;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench calibrate</c>: fit a device profile to error maps measured at several operating points, from dumps or fault
/// lists on disk (or a manifest naming them), or measured here on a board; write the profile and a fit report.
/// </summary>
public static class CalibrateCommand
{
    public static Command Create(CliContext context)
    {
        var dumps = new Option<string[]>("--dump") { Description = "a readback dump (or fault list, or fault map) measured at the --op given in the same position; repeat for every point", HelpName = "PATH" };
        var ops = new Option<string[]>("--op") { Description = "the operating point of the --dump in the same position, e.g. \"V=0.55\" or \"V=0.55,T=85\"", HelpName = "POINT" };
        var format = new Option<string>("--format") { Description = "how the dumps are stored: bin, hex (byte pairs), hexwords ($readmemh words), csv (fault list block,row,bit[,read]) or faultmap", HelpName = "FORMAT", DefaultValueFactory = _ => "bin" };
        var geometry = new Option<string?>("--geometry") { Description = "BLOCKSxROWSxWORDBITS, e.g. 64x512x32: 64 blocks of 512 words of 32 bits, stored block after block, word after word", HelpName = "GEOMETRY" };
        var pattern = new Option<string?>("--pattern") { Description = "what was written before reading back: a hex word (0xFFFF), checkerboard, checkerboard-inverse or a pattern file; with --board default checkerboard", HelpName = "PATTERN" };
        var manifest = new Option<string?>("--manifest") { Description = "a JSON manifest with the geometry, format, pattern and every file with its point (calibration/README.md)", HelpName = "FILE" };
        var output = new Option<string>("--out", "-o") { Description = "the fitted device profile (JSON)", HelpName = "FILE", Required = true };
        var report = new Option<string?>("--report") { Description = "directory for report.md, fit.json and the plots", HelpName = "DIR" };
        var holdout = new Option<string?>("--holdout") { Description = "voltages left out of the fit and predicted afterwards, e.g. 0.50,0.51", HelpName = "V1,V2" };
        var name = new Option<string>("--name") { Description = "the profile's name", HelpName = "NAME", DefaultValueFactory = _ => "calibrated" };
        var nominal = new Option<double?>("--nominal-voltage") { Description = "the memory's specified supply voltage (default: the highest measured)", HelpName = "V" };
        var board = new Option<bool>("--board") { Description = "measure the maps here, on the board at --port: write the pattern, lower the voltage step by step, COMPARE" };
        var voltages = new Option<string?>("--voltages") { Description = "with --board: the supply voltages to measure, START:STOP:STEP (e.g. 0.60:0.50:0.01) or a list", HelpName = "RANGE" };
        var repeats = CliOptions.Integer("--repeats", "with --board: reads per voltage (3 or more let the fit see transient faults)", 1, 1);
        var json = CliOptions.Json();
        var link = new BoardOptions();
        var command = new Command("calibrate", "Fit a device profile to error maps measured at several operating points (dumps, fault lists, or a board), with a fit report.")
        {
            dumps, ops, format, geometry, pattern, manifest, output, report, holdout, name, nominal, board, voltages, repeats, json, link.Port, link.Baud, link.VoltageFloor,
        };
        command.Validators.Add(r =>
        {
            bool onBoard = r.GetValue(board), fromManifest = r.GetResult(manifest) is not null;
            int nDumps = r.GetValue(dumps)?.Length ?? 0, nOps = r.GetValue(ops)?.Length ?? 0;
            if ((onBoard ? 1 : 0) + (fromManifest ? 1 : 0) + (nDumps > 0 ? 1 : 0) != 1)
                r.AddError("give the measurements one way: --dump PATH --op POINT (repeated), --manifest FILE, or --board --port PATH --voltages RANGE.");
            if (onBoard && (r.GetResult(link.Port) is null || r.GetResult(voltages) is null)) r.AddError("--board needs --port PATH and --voltages RANGE.");
            if (!onBoard && (r.GetResult(link.Port) is not null || r.GetResult(voltages) is not null || r.GetResult(repeats) is not null))
                r.AddError("--port, --voltages and --repeats go with --board.");
            if (nDumps > 0)
            {
                if (r.GetResult(geometry) is null) r.AddError("--dump needs --geometry BLOCKSxROWSxWORDBITS.");
                bool faultMaps = r.GetValue(format) == "faultmap";
                if (!faultMaps && nOps != nDumps) r.AddError($"give one --op per --dump, in the same order ({nDumps} --dump, {nOps} --op).");
            }
            if (fromManifest && (r.GetResult(geometry) is not null || r.GetResult(pattern) is not null || r.GetResult(format) is not null || nOps > 0))
                r.AddError("--manifest holds the geometry, format, pattern and points; leave out --geometry, --format, --pattern and --op.");
        });
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            var holdoutVoltages = r.GetValue(holdout) is { } h ? MeasuredInputs.ParseVoltages(h) : [];
            var options = new CalibrationOptions { Name = r.GetRequiredValue(name), NominalVoltage = r.GetValue(nominal), HoldoutVoltages = holdoutVoltages };
            string? reportDir = r.GetValue(report);
            MeasuredMaps maps;
            if (r.GetValue(board)) maps = MeasureOnBoard(context, link, r, r.GetValue(pattern) ?? "checkerboard", SweepCommand.ParseVoltages(r.GetValue(voltages)!),
                r.GetValue(repeats), reportDir, r.GetValue(json));
            else if (r.GetValue(manifest) is { } m) maps = MeasuredInputs.FromManifest(m);
            else
            {
                var files = r.GetRequiredValue(dumps);
                var points = r.GetValue(ops) ?? [];
                var specs = files.Select((f, i) => new MeasuredFileSpec(f, i < points.Length ? MeasuredInputs.ParsePoint(points[i], $"--op #{i + 1}") : null)).ToArray();
                maps = MeasuredInputs.FromFiles(specs, DumpFormats.Parse(r.GetRequiredValue(format)), MeasuredInputs.ParseGeometry(r.GetRequiredValue(geometry)!),
                    r.GetValue(pattern));
            }
            var result = context.WithStatus(r.GetValue(json), "Fitting", _ => Calibrator.Fit(maps, options));
            string profilePath = Path.GetFullPath(r.GetRequiredValue(output));
            OutputFiles.Prepare(profilePath);
            result.SaveProfile(profilePath);
            var written = reportDir is null ? [] : CalibrationReport.Write(result, reportDir);
            if (r.GetValue(json)) WriteJson(context, result, profilePath, reportDir);
            else WriteText(context, result, profilePath, reportDir, written);
            return CliErrors.Success;
        }));
        return command;
    }

    /// <summary>
    /// Measures the maps on the board: the pattern (repeating every at most 16 bytes, so FILL writes it) over the whole
    /// memory, then every voltage, highest first, <paramref name="repeats"/> COMPAREs each. Every read is saved at once
    /// as a fault map (measured.txt in the report directory), so a lost board loses nothing already measured.
    /// </summary>
    private static MeasuredMaps MeasureOnBoard(CliContext context, BoardOptions link, ParseResult r, string patternText, double[] voltages, int repeats,
        string? reportDir, bool json)
    {
        using var client = link.Connect(r);
        var g = client.Board.Geometry;
        var pattern = WrittenPattern.Parse(patternText);
        byte[] image = pattern.Image(g);
        int period = Enumerable.Range(1, 16).FirstOrDefault(p => image.Length % p == 0 && IsPeriodic(image, p));
        if (period == 0)
            throw new CliException($"--pattern {patternText} does not repeat within 16 bytes on the board's {g} memory, so FILL cannot write it; use a hex word or checkerboard");
        var fill = image[..period];
        var points = voltages.OrderByDescending(v => v).Select(v =>
        {
            var point = client.Board.NominalPoint with { Voltage = v };
            client.ToBoardPoint(point); // refuse a voltage off the board's range or steps before measuring anything
            return point;
        }).ToArray();
        string? measuredPath = reportDir is null ? null : Path.Combine(reportDir, "measured.txt");
        var scans = new List<(ScanPoint Scan, int? Repeat)>();
        using var cancel = new CtrlC();
        var maps = new MeasuredMaps(g, $"{client.Board.Firmware} on {client.Port}, pattern {pattern.Name}");
        context.WithStatus(json, "Measuring", status =>
        {
            try
            {
                PatternScan.Run(client, points, repeats, 0, g.TotalBits / 8, fill, scans, (scan, k) =>
                {
                    if (measuredPath is not null) OutputFiles.WriteText(measuredPath, PatternScan.ToFaultMap(client.Board, scans, maps.Description).Save);
                    var faults = scan.Cells.Select((c, i) =>
                    {
                        var a = g.Address(c);
                        return new MeasuredFault(a.Block, a.Row, a.Bit, scan.Read[i], !scan.Read[i]);
                    }).ToArray();
                    maps.Add(new MeasuredRead(scan.Point, k, faults, pattern, $"{client.Port} at {scan.Point}, read {k}"));
                    status($"{scan.Point}, read {k + 1} of {repeats} done");
                    if (!json && !context.Interactive) context.Out.WriteLine($"{scan.Point} read {k}: {scan.Cells.Length:N0} faults, {scan.Wire.BytesOnTheWire:N0} bytes on the wire");
                }, cancel.Token);
            }
            catch (OperationCanceledException e)
            {
                throw new CliException($"interrupted after {scans.Count} reads{(measuredPath is null ? "" : $"; they are in {measuredPath}")}", e);
            }
            catch (MemoryBackendException e) when (measuredPath is not null)
            {
                throw new CliException($"{e.Message}; the {scans.Count} reads measured are in {measuredPath} (calibrate from them with --dump {measuredPath} --format faultmap --geometry {g} --pattern {patternText})", e);
            }
            return 0;
        });
        return maps;
    }

    private static bool IsPeriodic(byte[] image, int period)
    {
        for (int i = period; i < image.Length; i++)
            if (image[i] != image[i - period]) return false;
        return true;
    }

    private static void WriteJson(CliContext context, CalibrationResult result, string profile, string? reportDir) =>
        JsonOutput.Write(context, new JsonObject
        {
            ["profile"] = profile,
            ["report"] = reportDir is null ? null : Path.GetFullPath(reportDir),
            ["geometry"] = result.Geometry.ToString(),
            ["parameters"] = new JsonObject(result.Parameters.Select(p => KeyValuePair.Create(p.Name, (JsonNode?)new JsonObject
            {
                ["value"] = p.Value,
                ["standard_error"] = JsonOutput.Number(p.StandardError),
                ["unit"] = p.Unit,
                ["fitted"] = p.Fitted,
            }))),
            ["points"] = new JsonArray(result.Points.Select(p => (JsonNode?)new JsonObject
            {
                ["op"] = p.Point.ToString(),
                ["measured_ber"] = p.MeasuredBer,
                ["fitted_ber"] = p.FittedBer,
                ["heldout"] = p.Heldout,
            }).ToArray()),
            ["heldout_factor"] = result.HeldoutFactor,
            ["notes"] = new JsonArray(result.Notes.Select(n => (JsonNode?)n).ToArray()),
        });

    private static void WriteText(CliContext context, CalibrationResult result, string profile, string? reportDir, IReadOnlyList<string> written)
    {
        var o = context.Out;
        o.WriteLine($"memory    {result.Geometry} ({Formatting.Count(result.Geometry.TotalBits)} cells), {result.Points.Count} operating points, fitted in {result.Elapsed.TotalSeconds:F1} s");
        o.Flush();
        var parameters = Formatting.Table("parameter", ">value", ">standard error", "unit");
        foreach (var p in result.Parameters.Where(p => p.Fitted))
            Formatting.Row(parameters, p.Name, p.Value.ToString("G5", CultureInfo.InvariantCulture),
                double.IsFinite(p.StandardError) ? p.StandardError.ToString("G3", CultureInfo.InvariantCulture) : "-", p.Unit);
        context.Console.Write(parameters);
        var points = Formatting.Table("operating point", ">measured BER", ">fitted BER", ">fitted/measured", "");
        foreach (var p in result.Points)
            Formatting.Row(points, p.Point.ToString(), p.MeasuredBer.ToString("G3", CultureInfo.InvariantCulture), p.FittedBer.ToString("G3", CultureInfo.InvariantCulture),
                double.IsFinite(p.Ratio) ? p.Ratio.ToString("F3", CultureInfo.InvariantCulture) : "none measured", p.Heldout ? "held out" : "");
        context.Console.Write(points);
        foreach (var note in result.Notes) o.WriteLine($"note: {note}");
        o.WriteLine($"wrote {Formatting.DisplayPath(profile)}");
        if (reportDir is not null) o.WriteLine($"report: {Formatting.DisplayPath(Path.Combine(reportDir, "report.md"))} ({written.Count} files)");
    }
}
