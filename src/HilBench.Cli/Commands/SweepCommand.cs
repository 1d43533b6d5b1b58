using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench sweep</c>: accuracy and energy saving of a model stored in an emulated device or on a board, per
/// supply voltage. The same K chips serve every voltage, so what a sweep shows is how one population of chips
/// degrades, with persistent and nested faults. Each finished point is written to --out at once, and
/// <c>--resume</c> keeps the points an interrupted run (Ctrl-C, a lost board) already wrote there.
/// </summary>
public static class SweepCommand
{
    public sealed record Point(OperatingPoint Op, ErrorTrials.Summary Result);

    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn) to evaluate");
        var dataset = CliOptions.Dataset();
        var memory = new MemoryOptions();
        var voltages = new Option<string>("--voltages") { Description = "supply voltages: START:STOP:STEP (e.g. 0.60:0.54:0.01) or a list 0.6,0.58,0.56", HelpName = "RANGE", Required = true }
            .CheckedBy(text => ParseVoltages(text));
        var trials = CliOptions.Integer("--trials", "error patterns (chips SEED+k, or reads of --chip) per voltage", 10, 1);
        var seed = CliOptions.Integer("--seed", "seed of the first chip", 1, int.MinValue);
        var threads = CliOptions.Threads("inference threads (0 = all cores)");
        var output = new Option<string?>("--out", "-o") { Description = "CSV file with one row per voltage, rewritten after every point", HelpName = "CSV" };
        var resume = new Option<bool>("--resume") { Description = "keep the voltages already in --out (from an interrupted run with the same model, data set, memory and options) and measure the rest" };
        var json = CliOptions.Json();
        var command = new Command("sweep", "Accuracy and energy saving of a model stored in an emulated memory or on a board, per supply voltage.")
        {
            model, dataset, voltages, trials, seed, threads, output, resume, json,
        };
        foreach (var o in memory.All(withBer: false)) command.Options.Add(o);
        command.Validators.Add(r =>
        {
            bool board = memory.Board.Validate(r);
            if (board == (r.GetResult(memory.Profile) is not null)) r.AddError("sweep needs a memory with operating points: --profile FILE, or --backend board --port PATH.");
            if (board && r.GetResult(memory.Chip) is not null) r.AddError("--chip is for --profile; a board is one chip.");
            if (r.GetValue(resume) && r.GetResult(output) is null) r.AddError("--resume continues the sweep in --out CSV; give --out.");
        });
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            string modelPath = r.GetRequiredValue(model);
            var m = ModelFile.Load(modelPath);
            var test = IdxDataset.LoadTest(Path.GetFullPath(r.GetValue(dataset) ?? IdxDataset.DefaultDirectory()));
            using var errors = memory.Resolve(r, r.GetValue(seed), r.GetValue(threads))!;
            var points = ParseVoltages(r.GetRequiredValue(voltages)).Select(v => errors.Check(errors.Point with { Voltage = v })).ToArray();
            var fingerprint = new Fingerprint(ContentHash.OfFile(modelPath), ContentHash.Of(test),
                errors.Board is { } b ? $"board {b.Board.Firmware}" : $"{errors.Profile!.Name} {ContentHash.OfFile(r.GetRequiredValue(memory.Profile)!)}",
                r.GetValue(memory.Placement)!, errors.ThresholdsInMemory, r.GetValue(seed), r.GetValue(memory.Chip), r.GetValue(trials));
            return Execute(context, m, test, errors, points, fingerprint, r.GetValue(threads), r.GetValue(output), r.GetValue(resume), r.GetValue(json));
        }));
        return command;
    }

    /// <summary>"0.60:0.54:0.01" (either direction, the stop included when the steps land on it) or "0.6,0.58".</summary>
    public static double[] ParseVoltages(string text)
    {
        static double Number(string s, string text) =>
            double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
                : throw new CliException($"--voltages '{text}': '{s}' is not a number; write START:STOP:STEP such as 0.60:0.54:0.01, or a list 0.6,0.58");
        var parts = text.Split(':');
        if (parts.Length == 1) return text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => Number(s, text)).ToArray();
        if (parts.Length != 3) throw new CliException($"--voltages '{text}' is not START:STOP:STEP, e.g. 0.60:0.54:0.01");
        double start = Number(parts[0], text), stop = Number(parts[1], text), step = Math.Abs(Number(parts[2], text));
        if (step == 0) throw new CliException($"--voltages '{text}': the step must not be zero");
        int count = (int)Math.Floor(Math.Abs(stop - start) / step + 1e-9) + 1;
        if (count > 10_000) throw new CliException($"--voltages '{text}' gives {count} points; use a larger step");
        double sign = stop >= start ? 1 : -1;
        return Enumerable.Range(0, count).Select(i => Math.Round(start + sign * i * step, 9)).ToArray();
    }

    /// <summary>
    /// What decides a sweep's numbers besides the operating point, written as the CSV's first line (a # comment) and compared on
    /// --resume: the model's and the test images' content hashes, the memory (profile name and content hash, or the board's
    /// firmware), placement, thresholds in memory, seed, --chip and trials.
    /// </summary>
    public sealed record Fingerprint(string Model, string Dataset, string Memory, string Placement, bool ThresholdsInMemory, int Seed, int? Chip, int Trials)
    {
        public const string Prefix = "# hilbench sweep: ";

        public IReadOnlyList<(string Key, string Value)> Entries =>
        [
            ("model", Model), ("dataset", Dataset), ("memory", Memory), ("placement", Placement),
            ("thresholds-in-memory", ThresholdsInMemory ? "yes" : "no"), ("seed", Seed.ToString(CultureInfo.InvariantCulture)),
            ("chip", Chip is { } c ? c.ToString(CultureInfo.InvariantCulture) : "SEED+k"), ("trials", Trials.ToString(CultureInfo.InvariantCulture)),
        ];

        public string Line => Prefix + string.Join("; ", Entries.Select(e => $"{e.Key}={e.Value}"));

        /// <summary>What differs between the fingerprint line of a CSV and this one, in words; empty when nothing does.</summary>
        public string[] Differences(string line)
        {
            var stored = line[Prefix.Length..].Split("; ").Select(e => e.Split('=', 2)).Where(kv => kv.Length == 2).DistinctBy(kv => kv[0])
                .ToDictionary(kv => kv[0], kv => kv[1]);
            return Entries.Where(e => stored.GetValueOrDefault(e.Key) != e.Value)
                .Select(e => $"{e.Key} {stored.GetValueOrDefault(e.Key) ?? "(none)"} there, {e.Value} now").ToArray();
        }
    }

    private static int Execute(CliContext context, BnnModel model, ImageSet test, MemoryErrors errors, OperatingPoint[] points,
        Fingerprint fingerprint, int threads, string? output, bool resume, bool json)
    {
        var results = resume ? Resumed(output!, points, fingerprint) : [];
        double clean = new InferenceEngine(model).Run(test.Pixels, test.Count, threads).Accuracy(test.Labels);
        int trials = fingerprint.Trials, seed = fingerprint.Seed;
        if (resume && !json) context.Error.WriteLine($"kept {results.Count} of {points.Length} voltages from {output}");
        using var cancel = new CtrlC(); // stops after the current step; what is finished stays
        bool interrupted = false;
        try
        {
            context.WithStatus(json, "Sweeping", status =>
            {
                foreach (var op in points)
                {
                    if (results.Any(p => SamePoint(p.Op, op))) continue;
                    var summary = ErrorTrials.Run(model, errors, test, trials, seed, CliOptions.ResolveThreads(threads),
                        s => status($"{op}: {s}"), op, cancel.Token);
                    results.Add(new Point(op, summary));
                    results.Sort((a, b) => Array.FindIndex(points, p => SamePoint(p, a.Op)).CompareTo(Array.FindIndex(points, p => SamePoint(p, b.Op))));
                    if (output is not null) WriteCsv(output, fingerprint, clean, results);
                }
                return 0;
            });
        }
        catch (OperationCanceledException)
        {
            interrupted = true;
        }
        catch (MemoryBackendException e)
        {
            // A lost board: say so, keep what was measured, and say how to go on.
            throw new CliException(output is null
                ? $"{e.Message} ({results.Count} of {points.Length} voltages were measured; give --out to keep them next time)"
                : $"{e.Message}; the {results.Count} voltages measured are in {output}: run the same command with --resume to go on", e);
        }
        if (json) WriteJson(context, errors, clean, results, output);
        else WriteText(context, errors, clean, results, output);
        if (!interrupted) return CliErrors.Success;
        context.Error.WriteLine($"interrupted after {results.Count} of {points.Length} voltages{(output is null ? "" : $"; they are in {output}")}");
        return TrainCommand.Interrupted;
    }

    private static bool SamePoint(OperatingPoint a, OperatingPoint b) => a.ToString() == b.ToString();

    /// <summary>
    /// The points of an earlier run in <paramref name="path"/> that this run asks for. Refuses a file measured with other settings
    /// (its fingerprint line differs: another model, data set, profile, board, placement, seed, chip or number of trials) and a file
    /// without one (written before sweeps recorded their settings), naming what differs and what to do.
    /// </summary>
    private static List<Point> Resumed(string path, OperatingPoint[] points, Fingerprint fingerprint)
    {
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path);
        if (lines.Length >= 1 && lines[0] == CsvHeader)
            throw new CliException($"{path} was written by an older hilbench sweep that did not record its settings (model, seed, chips, profile, placement), " +
                                   "so it cannot be checked against this run; its points stay readable as they are, but to go on give another --out and measure anew");
        if (lines.Length < 2 || !lines[0].StartsWith(Fingerprint.Prefix, StringComparison.Ordinal) || lines[1] != CsvHeader)
            throw new CliException($"{path} is not a sweep CSV written by hilbench sweep; choose another --out or leave out --resume");
        if (fingerprint.Differences(lines[0]) is { Length: > 0 } differences)
            throw new CliException($"{path} was measured with other settings ({string.Join("; ", differences)}); " +
                                   "give the same options to go on, or another --out for a new sweep");
        var kept = new List<Point>();
        for (int i = 2; i < lines.Length; i++)
        {
            var f = lines[i].Split(',');
            double Number(int column) => f.Length == 10 && double.TryParse(f[column], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
                : f.Length == 10 && f[column] == "" ? double.NaN
                : throw new CliException($"{path} line {i + 1} is damaged; delete the line (or the file) and run again");
            if (points.Where(p => p.ToString(";") == f[1]).Select(p => (OperatingPoint?)p).FirstOrDefault() is not { } op) continue;
            double? Optional(int column) => double.IsNaN(Number(column)) ? null : Number(column);
            kept.Add(new Point(op, new ErrorTrials.Summary("", op.ToString(), fingerprint.Trials, 0, [], Number(5), Optional(6), Optional(7), Number(4), Number(3), Optional(9))));
        }
        return kept;
    }

    private const string CsvHeader = "voltage,op,trials,bit_error_rate,faults_mean,accuracy_mean,accuracy_ci95_low,accuracy_ci95_high,clean_accuracy,energy_saving";

    private static void WriteCsv(string path, Fingerprint fingerprint, double clean, List<Point> results) => OutputFiles.WriteText(path, w =>
    {
        w.WriteLine(fingerprint.Line);
        w.WriteLine(CsvHeader);
        foreach (var p in results)
        {
            var s = p.Result;
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.Op.Voltage},{p.Op.ToString(";")},{s.Trials},{s.BitErrorRate:G6},{s.FlippedBitsMean},{s.Mean},{s.Low},{s.High},{clean},{s.EnergySaving}"));
        }
    });

    private static void WriteJson(CliContext context, MemoryErrors errors, double clean, List<Point> results, string? output) =>
        JsonOutput.Write(context, new JsonObject
        {
            ["memory"] = errors.Description,
            ["clean_accuracy"] = clean,
            ["out"] = output is null ? null : Path.GetFullPath(output),
            ["points"] = new JsonArray(results.Select(p => (JsonNode?)new JsonObject
            {
                ["op"] = p.Op.ToString(),
                ["voltage"] = p.Op.Voltage,
                ["trials"] = p.Result.Trials,
                ["bit_error_rate"] = p.Result.BitErrorRate,
                ["faults_mean"] = p.Result.FlippedBitsMean,
                ["accuracy_mean"] = p.Result.Mean,
                ["accuracy_ci95"] = p.Result.Low is { } lo && p.Result.High is { } hi ? new JsonArray(lo, hi) : null,
                ["energy_saving"] = p.Result.EnergySaving,
            }).ToArray()),
        });

    private static void WriteText(CliContext context, MemoryErrors errors, double clean, List<Point> results, string? output)
    {
        context.Out.WriteLine($"memory    {errors.Description}");
        context.Out.WriteLine($"clean     {Formatting.Percent(clean)} accuracy with error-free weights");
        context.Out.Flush();
        var table = Formatting.Table("operating point", ">BER", ">faults", ">accuracy", ">95% interval", ">energy saved");
        foreach (var p in results)
        {
            var s = p.Result;
            Formatting.Row(table, p.Op.ToString(), s.BitErrorRate.ToString("G3", CultureInfo.InvariantCulture), Formatting.Count((long)Math.Round(s.FlippedBitsMean)),
                Formatting.Percent(s.Mean), s.Low is { } lo && s.High is { } hi ? $"{Formatting.Percent(lo)}..{Formatting.Percent(hi)}" : "-",
                s.EnergySaving is { } e ? Formatting.Percent(e) : "-");
        }
        context.Console.Write(table);
        if (output is not null) context.Out.WriteLine($"wrote {Formatting.DisplayPath(output)}");
    }
}
