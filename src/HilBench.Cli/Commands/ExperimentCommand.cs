using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Cli.Experiment;
using HilBench.Board;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Profiles;
using Spectre.Console;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench experiment</c>: the whole study on a set of models: metrics, tolerance curves, predictions,
/// correlations, accuracy per operating point, plots and a report. Each finished model is kept in
/// OUT/models/NAME-HASH.json, so an interrupted run resumes where it stopped.
/// </summary>
public static class ExperimentCommand
{
    public const string DefaultModels = "models/*.hbnn";
    public const string DefaultProfile = "calibration/profiles/bram-like.json";

    public static Command Create(CliContext context)
    {
        var models = new Option<string>("--models") { Description = "model files: a glob such as models/*.hbnn, or several separated by commas", HelpName = "GLOB", DefaultValueFactory = _ => DefaultModels };
        var dataset = CliOptions.Dataset();
        var bers = new Option<string>("--ber") { Description = "weight bit error rates of the tolerance curves", HelpName = "LIST", DefaultValueFactory = _ => "0,0.01,0.02,0.05,0.1,0.15,0.2" }
            .CheckedBy(text => ParseBers(text));
        var trials = CliOptions.Integer("--trials", "seeded error patterns per BER", 5, 1);
        var seed = CliOptions.Integer("--seed", "seed of the error patterns and of the first chip", 1, int.MinValue);
        var images = CliOptions.Integer("--images", "test images to evaluate on (the first N)", 10_000, 1);
        var importanceImages = CliOptions.Integer("--importance-images", "images for the neuron importances (the first N of --importance-split; with test, at most --images)", 2_000, 1);
        var importanceSplit = CliOptions.ImportanceSplit();
        var predictionBer = CliOptions.Probability("--prediction-ber", "BER at which each layer's flip fraction is predicted and measured (default 0.05)");
        var profile = new Option<string?>("--profile") { Description = $"device profile for the accuracy-vs-energy sweep (default {DefaultProfile} when it exists; 'none' to skip)", HelpName = "FILE" };
        var voltages = new Option<string>("--voltages") { Description = "supply voltages of the sweep: START:STOP:STEP or a list", HelpName = "RANGE", DefaultValueFactory = _ => "0.60:0.54:0.02" }
            .CheckedBy(text => SweepCommand.ParseVoltages(text));
        var chips = CliOptions.Integer("--chips", "emulated chips per operating point of the sweep", 5, 1);
        var op = new Option<string?>("--op") { Description = "the sweep's other operating-point fields, e.g. \"T=45\" or \"tRCD=10\"", HelpName = "POINT" };
        var threads = CliOptions.Threads("threads (0 = all cores)");
        var output = new Option<string>("--out", "-o") { Description = "directory for report.md, results.json, CSV files and plots", HelpName = "DIR", DefaultValueFactory = _ => "results/study" };
        var json = CliOptions.Json("a summary");
        var board = new BoardOptions();
        var command = new Command("experiment", "The bit-error-tolerance study on a set of models: metrics, tolerance, predictions, correlations, energy, plots and a report.")
        {
            models, dataset, bers, trials, seed, images, importanceImages, importanceSplit, predictionBer, profile, voltages, op, chips, threads, output, json,
        };
        foreach (var o in board.All) command.Options.Add(o);
        command.Validators.Add(r =>
        {
            if (board.Validate(r) && r.GetResult(profile) is not null) r.AddError("--backend board sweeps the board's voltages; leave out --profile.");
        });
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            string? profilePath = r.GetValue(profile) switch
            {
                "none" => null,
                null => r.GetValue(board.Backend) is null ? FindShipped(DefaultProfile) : null,
                var p => p,
            };
            using var onBoard = board.Open(r);
            bool sweep = profilePath is not null || onBoard is not null;
            var settings = new ExperimentSettings(ParseBers(r.GetRequiredValue(bers)), r.GetValue(trials), r.GetValue(seed), r.GetValue(images),
                r.GetValue(importanceImages), r.GetValue(predictionBer) ?? 0.05, profilePath is null ? null : Path.GetFullPath(profilePath), r.GetValue(op),
                sweep ? SweepCommand.ParseVoltages(r.GetRequiredValue(voltages)) : [], r.GetValue(chips), onBoard?.Board.Firmware,
                ImportanceSplit: r.GetRequiredValue(importanceSplit));
            return Execute(context, ResolveModels(r.GetRequiredValue(models)), r.GetValue(dataset), settings, onBoard, r.GetValue(threads), r.GetRequiredValue(output), r.GetValue(json));
        }));
        return command;
    }

    /// <summary>
    /// A shipped file (relative to the checkout) found from the working directory or the executable upwards, as the
    /// data set is; null when neither is inside a checkout.
    /// </summary>
    public static string? FindShipped(string relative)
    {
        if (File.Exists(relative)) return relative;
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        return null;
    }

    public static double[] ParseBers(string text)
    {
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and <= 1 ? v
                : throw new CliException($"--ber '{text}': '{s}' is not a bit error rate between 0 and 1; write a list such as 0,0.01,0.05,0.1")).Distinct().Order().ToArray();
        if (values.Length < 2) throw new CliException($"--ber '{text}' needs at least two different rates for a curve, e.g. 0,0.05,0.1");
        return values;
    }

    /// <summary>The files a glob (or comma-separated globs) names, sorted; an empty match is an error naming the pattern.</summary>
    public static string[] ResolveModels(string globs)
    {
        var files = new List<string>();
        foreach (var glob in globs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string dir = Path.GetDirectoryName(glob) is { Length: > 0 } d ? d : ".";
            // The default (models/*.hbnn) also works from below the checkout, as the data set does.
            if (!Directory.Exists(dir) && !Path.IsPathRooted(dir) && FindShipped(Path.Combine(dir, "README.md")) is { } readme) dir = Path.GetDirectoryName(readme)!;
            string pattern = Path.GetFileName(glob);
            var found = Directory.Exists(dir) ? Directory.GetFiles(dir, pattern).Where(f => f.EndsWith(".hbnn", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray() : [];
            if (found.Length == 0)
                throw new CliException($"--models '{glob}' matches no .hbnn file{(Directory.Exists(dir) ? "" : $" ({Path.GetFullPath(dir)} does not exist)")}; " +
                                       "run from the checkout (the shipped models are in models/) or pass --models PATH/*.hbnn");
            files.AddRange(found);
        }
        return files.Distinct().ToArray();
    }

    private static int Execute(CliContext context, string[] files, string? datasetDir, ExperimentSettings settings, BoardBackend? board, int threads, string outDir, bool json)
    {
        using var sweep = SweepMemory(settings, board);
        if (sweep is not null)
            foreach (double v in settings.Voltages) sweep.Check(sweep.Point with { Voltage = v });
        string datasetPath = Path.GetFullPath(datasetDir ?? IdxDataset.DefaultDirectory());
        var test = IdxDataset.LoadTest(datasetPath);
        var data = settings.Images < test.Count ? test.Take(settings.Images) : test;
        var importanceData = CliOptions.ImportanceImages(settings.ImportanceSplit, datasetPath, data, settings.ImportanceImages);
        settings = settings with
        {
            Dataset = datasetPath,
            DatasetHash = ContentHash.Of(test),
            ProfileHash = settings.Profile is { } profilePath ? ContentHash.OfFile(profilePath) : null,
            ImportanceHash = settings.ImportanceSplit == CliOptions.TestSplit ? null : ContentHash.Of(importanceData),
        };
        // Every model is loaded and checked before any is measured: a bad one is refused now, not after hours.
        var names = DisplayNames(files);
        var models = files.Select((f, i) => ExperimentRunner.Prepare(f, names[i], test)).ToArray();
        string dir = Path.GetFullPath(outDir);
        string modelDir = Path.Combine(dir, "models");
        Directory.CreateDirectory(modelDir);
        threads = CliOptions.ResolveThreads(threads);

        using var cancel = new CtrlC(); // stops after the current step; what is finished stays
        var results = new List<ModelResult>();
        int reused = 0;
        var watch = Stopwatch.StartNew();
        try
        {
            RunWithProgress(context, json, files.Length, (advance, status) =>
            {
                foreach (var model in models)
                {
                    string saved = SavedResultPath(modelDir, model.Path);
                    if (Load(saved, settings, model) is { } done)
                    {
                        results.Add(done);
                        reused++;
                        advance($"{model.Name} (kept from an earlier run)");
                        continue;
                    }
                    var result = ExperimentRunner.Run(model, data, importanceData, settings, sweep, threads, status, cancel.Token);
                    OutputFiles.WriteText(saved, w => w.Write(JsonSerializer.Serialize(result, StudyReport.Json)));
                    results.Add(result);
                    if (!json && !context.Interactive)
                        context.Out.WriteLine($"{model.Name}: clean {Formatting.Percent(result.CleanAccuracy)}, AUC {result.Auc:F3}, {result.Seconds:F0} s");
                    advance(model.Name);
                }
            });
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine($"interrupted after {results.Count} of {files.Length} models; they are kept in {modelDir}: run the same command again to go on");
            return TrainCommand.Interrupted;
        }
        catch (Exception e)
        {
            // Each finished model is already on disk; say so whatever went wrong (a lost board, a full disk, a bug).
            string kept = $"the {results.Count} of {files.Length} models finished so far are kept in {modelDir}: fix the cause and run the same command again to go on";
            if (CliErrors.IsExpected(e)) throw new CliException($"{e.Message}; {kept}", e);
            context.Error.WriteLine($"error: {CliErrors.OneLine(e.Message)}; {kept}");
            throw;
        }

        results = results.OrderBy(m => m.Group).ThenBy(m => m.Loss).ThenBy(m => m.BftRate).ToList();
        var correlations = StudyAnalysis.Correlate(results);
        StudyReport.Write(dir, settings, results, correlations, watch.Elapsed.TotalSeconds);
        string report = Path.Combine(dir, "report.md");
        if (json)
        {
            JsonOutput.Write(context, new JsonObject
            {
                ["report"] = report,
                ["results"] = Path.Combine(dir, "results.json"),
                ["models"] = results.Count,
                ["reused"] = reused,
                ["seconds"] = watch.Elapsed.TotalSeconds,
            });
            return CliErrors.Success;
        }
        var table = Formatting.Table("model", ">clean", ">AUC", ">max BER within 1 pt", ">NL", ">IN variance", ">corrected");
        foreach (var m in results)
            Formatting.Row(table, m.Name, Formatting.Percent(m.CleanAccuracy), m.Auc.ToString("F3", CultureInfo.InvariantCulture),
                m.MaxBerWithinOnePoint.ToString("G3", CultureInfo.InvariantCulture), StudyAnalysis.AveragedNl(m).ToString("F4", CultureInfo.InvariantCulture),
                StudyAnalysis.AveragedIn(m).ToString("G3", CultureInfo.InvariantCulture),
                StudyAnalysis.AveragedInCorrected(m).ToString("G3", CultureInfo.InvariantCulture));
        context.Console.Write(table);
        context.Out.WriteLine($"{results.Count} models ({reused} kept from an earlier run) in {watch.Elapsed.TotalMinutes:F1} min");
        context.Out.WriteLine($"report: {Formatting.DisplayPath(report)}");
        return CliErrors.Success;
    }

    /// <summary>
    /// The memory of the operating-point sweep: emulated chips of the profile (one per trial, made once and shared by every
    /// model) or the board; null without either.
    /// </summary>
    private static MemoryErrors? SweepMemory(ExperimentSettings settings, BoardBackend? board)
    {
        if (board is not null)
            return MemoryErrors.OnBoard(board, settings.BaseOp is { } text ? OperatingPoint.Parse(text, board.Board.NominalPoint) : board.Board.NominalPoint, thresholds: false);
        if (settings.Profile is not { } path) return null;
        var profile = DeviceProfile.Load(path);
        var basePoint = settings.BaseOp is { } op ? profile.ParsePoint(op) : profile.Nominal;
        return MemoryErrors.Emulated(profile, basePoint, settings.Seed, chip: null, PlacementPolicy.Contiguous, thresholds: false, threads: 1);
    }

    /// <summary>
    /// The report's name of each model: its file name, or, where two models share a file name, the directory and the file name
    /// (a/m and b/m).
    /// </summary>
    public static string[] DisplayNames(string[] files)
    {
        static string Name(string f) => Path.GetFileNameWithoutExtension(f);
        return files.Select(f => files.Count(g => Name(g) == Name(f)) == 1 ? Name(f)
            : $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(f)))}/{Name(f)}").ToArray();
    }

    /// <summary>
    /// Where a model's result is kept: OUT/models/NAME-HASH.json, with a hash of the model's full path, so models with the same file
    /// name in different directories do not share one.
    /// </summary>
    public static string SavedResultPath(string modelDir, string model) =>
        Path.Combine(modelDir, $"{Path.GetFileNameWithoutExtension(model)}-{ContentHash.Of(Path.GetFullPath(model))[..8]}.json");

    /// <summary>
    /// A model result written by an earlier run with the same settings for the same model file with the same contents, or null: a
    /// model file changed since (retrained) is measured again.
    /// </summary>
    private static ModelResult? Load(string path, ExperimentSettings settings, StudyModel model)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var result = JsonSerializer.Deserialize<ModelResult>(File.ReadAllText(path), StudyReport.Json);
            return result is not null && result.SettingsKey == settings.Key() && result.File == model.Path && result.ModelHash == model.Hash
                ? result with { Name = model.Name }
                : null;
        }
        catch (JsonException)
        {
            return null; // damaged or from another version: measure again
        }
    }

    private static void RunWithProgress(CliContext context, bool json, int models, Action<Action<string>, Action<string>> work)
    {
        if (!context.Interactive || json)
        {
            work(_ => { }, _ => { });
            return;
        }
        context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("models", maxValue: models);
                work(done =>
                {
                    task.Increment(1);
                    task.Description = Markup.Escape($"done: {done}");
                }, status => task.Description = Markup.Escape(status));
            });
    }
}
