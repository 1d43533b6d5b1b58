using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Bnn.Training;
using HilBench.Bnn.Tensors;
using HilBench.Bnn.Training.Losses;
using HilBench.Memory.Emulation;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;
using Spectre.Console;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench train</c>: straight-through BNN training with optional bit flip training; a checkpoint after
/// every epoch, Ctrl-C keeps the last complete one, <c>--resume</c> continues bit-identically.
/// </summary>
public static class TrainCommand
{
    /// <summary>Exit code after Ctrl-C (128 + SIGINT), as shells report it.</summary>
    public const int Interrupted = 130;

    public static Command Create(CliContext context)
    {
        var arch = new Option<string?>("--arch") { Description = "mlp, vgg3, or a layer spec such as conv32,pool,dense512,dense10", HelpName = "ARCH" };
        var dataset = CliOptions.Dataset();
        var epochs = new Option<int?>("--epochs") { Description = "number of epochs (with --resume: the new total)", HelpName = "N" };
        var batch = CliOptions.Integer("--batch", "mini-batch size", 256, 1);
        var lr = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 1e-3, HelpName = "RATE" };
        var steps = new Option<string?>("--lr-steps") { Description = "epochs after which the learning rate is multiplied by 0.1, e.g. 10,15 (default: half and three quarters of the run)", HelpName = "LIST" };
        var seed = CliOptions.Integer("--seed", "seed for initial weights, data order and bit flips", 1, int.MinValue);
        var threads = CliOptions.Threads("threads for the matrix products (0 = all cores; the result does not depend on it)");
        var loss = new Option<string>("--loss") { Description = "ce (cross-entropy), mhl (modified hinge) or mcel (margin cross-entropy)", DefaultValueFactory = _ => "ce", HelpName = "LOSS" };
        loss.AcceptOnlyFromAmong(LossFactory.Names.ToArray());
        var margin = new Option<double?>("--margin") { Description = "loss margin: b of mhl (default 128), m of mcel (required)", HelpName = "M" };
        var bft = CliOptions.Probability("--bft", "bit flip training: symmetric flip rate of the binarized weights on every forward pass");
        var bft01 = CliOptions.Probability("--bft-01", "bit flip training, asymmetric: rate for stored 0 -> 1 (with --bft-10)");
        var bft10 = CliOptions.Probability("--bft-10", "bit flip training, asymmetric: rate for stored 1 -> 0 (with --bft-01)");
        var profile = new Option<string?>("--profile") { Description = "bit flip training against an emulated chip: device profile JSON (with --op; the chip's failing weight cells read their stuck values on every forward pass)", HelpName = "FILE" };
        var op = new Option<string?>("--op") { Description = "operating point of the chip for --profile, e.g. \"V=0.55\"", HelpName = "POINT" };
        var chip = new Option<int?>("--chip") { Description = "chip seed for --profile (default: the profile's)", HelpName = "SEED" };
        var flips = new Option<bool>("--hflip") { Description = "augment: mirror each training image left-right with probability 1/2 (for images where that keeps the class, as Fashion-MNIST)" };
        var output = new Option<string?>("--out", "-o") { Description = "the trained model (.hbnn); a checkpoint OUT.ckpt and a summary OUT.json are written beside it", HelpName = "FILE" };
        var resume = new Option<string?>("--resume") { Description = "continue from a checkpoint written by an earlier run (its settings are used)", HelpName = "CHECKPOINT" };
        var json = CliOptions.Json("the training summary");
        var command = new Command("train", "Train a BNN (straight-through estimator, Adam, optional bit flip training) on the training split.")
        {
            arch, dataset, epochs, batch, lr, steps, seed, threads, loss, margin, bft, bft01, bft10, profile, op, chip, flips, output, resume, json,
        };
        command.Validators.Add(r =>
        {
            bool resuming = r.GetResult(resume) is not null;
            if (!resuming && r.GetResult(arch) is null) r.AddError("--arch is required (or --resume CHECKPOINT).");
            if (!resuming && r.GetResult(output) is null) r.AddError("--out is required (or --resume CHECKPOINT).");
            if (!resuming && r.GetResult(epochs) is null) r.AddError("--epochs is required (or --resume CHECKPOINT).");
            if (resuming)
                foreach (var o in new Option[] { arch, batch, lr, steps, seed, loss, margin, bft, bft01, bft10, profile, op, chip, flips })
                    if (r.GetResult(o) is { Implicit: false }) r.AddError($"{o.Name} cannot be changed when resuming: the checkpoint's settings are used.");
            if (r.GetResult(bft) is not null && (r.GetResult(bft01) is not null || r.GetResult(bft10) is not null)) r.AddError("use either --bft or --bft-01/--bft-10, not both.");
            else if ((r.GetResult(bft01) is null) != (r.GetResult(bft10) is null)) r.AddError("asymmetric bit flip training needs both --bft-01 and --bft-10.");
            bool chipErrors = r.GetResult(profile) is not null;
            if (chipErrors && (r.GetResult(bft) is not null || r.GetResult(bft01) is not null)) r.AddError("use either --bft (uniform flips) or --profile (a chip's faults), not both.");
            if (chipErrors != (r.GetResult(op) is not null) && !resuming) r.AddError("--profile and --op go together: the chip's faults depend on its operating point.");
            if (r.GetResult(chip) is not null && !chipErrors && !resuming) r.AddError("--chip needs --profile.");
        });
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            string? checkpoint = r.GetValue(resume);
            Settings settings;
            if (checkpoint is not null)
            {
                var (stored, _) = TrainingCheckpoint.ReadHeader(checkpoint);
                settings = Settings.From(stored) with
                {
                    Epochs = r.GetValue(epochs) ?? int.Parse(stored["epochs"], CultureInfo.InvariantCulture),
                    Out = r.GetValue(output) ?? stored["out"],
                    Dataset = r.GetValue(dataset) ?? stored["dataset"],
                };
            }
            else
            {
                settings = new Settings(r.GetValue(arch)!, r.GetValue(dataset) ?? IdxDataset.DefaultDirectory(), r.GetValue(epochs)!.Value,
                    r.GetValue(batch), r.GetValue(lr), r.GetValue(steps) ?? "", r.GetValue(seed), r.GetValue(loss)!, r.GetValue(margin),
                    r.GetValue(bft) ?? r.GetValue(bft01) ?? 0, r.GetValue(bft) ?? r.GetValue(bft10) ?? 0, r.GetValue(output)!)
                {
                    HorizontalFlips = r.GetValue(flips),
                    Profile = r.GetValue(profile) is { } path ? Path.GetFullPath(path) : null,
                    Point = r.GetValue(op),
                    Chip = r.GetValue(chip),
                };
            }
            return Execute(context, settings, r.GetValue(threads), checkpoint, r.GetValue(json));
        }));
        return command;
    }

    /// <summary>The settings that determine a run (stored in its checkpoint and in the model's metadata).</summary>
    public sealed record Settings(string Architecture, string Dataset, int Epochs, int Batch, double LearningRate, string LearningRateSteps,
        int Seed, string Loss, double? Margin, double Bft01, double Bft10, string Out)
    {
        public bool HorizontalFlips { get; init; }

        /// <summary>Bit flip training against an emulated chip: the profile's path, the operating point and the chip seed (null: the profile's).</summary>
        public string? Profile { get; init; }
        public string? Point { get; init; }
        public int? Chip { get; init; }

        public IReadOnlyDictionary<string, string> ToDictionary()
        {
            var d = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["arch"] = ModelBuilder.ResolveSpec(Architecture),
                ["dataset"] = Path.GetFullPath(Dataset),
                ["epochs"] = Epochs.ToString(CultureInfo.InvariantCulture),
                ["batch"] = Batch.ToString(CultureInfo.InvariantCulture),
                ["lr"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
                ["lr_steps"] = LearningRateSteps,
                ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
                ["loss"] = Loss,
                ["margin"] = Margin?.ToString("R", CultureInfo.InvariantCulture) ?? "",
                ["bft_01"] = Bft01.ToString("R", CultureInfo.InvariantCulture),
                ["bft_10"] = Bft10.ToString("R", CultureInfo.InvariantCulture),
                ["out"] = Path.GetFullPath(Out),
            };
            // Only when used, so the settings of runs without them read as before.
            if (HorizontalFlips) d["hflip"] = "true";
            if (Profile is not null)
            {
                d["profile"] = Profile;
                d["op"] = Point ?? "";
                if (Chip is { } c) d["chip"] = c.ToString(CultureInfo.InvariantCulture);
            }
            return d;
        }

        public static Settings From(IReadOnlyDictionary<string, string> d)
        {
            double D(string k) => double.Parse(d[k], CultureInfo.InvariantCulture);
            int I(string k) => int.Parse(d[k], CultureInfo.InvariantCulture);
            return new Settings(d["arch"], d["dataset"], I("epochs"), I("batch"), D("lr"), d["lr_steps"], I("seed"), d["loss"],
                d["margin"] == "" ? null : D("margin"), D("bft_01"), D("bft_10"), d["out"])
            {
                HorizontalFlips = d.GetValueOrDefault("hflip") == "true", // absent from checkpoints written before the option existed
                Profile = d.GetValueOrDefault("profile"),
                Point = d.GetValueOrDefault("op"),
                Chip = d.TryGetValue("chip", out var c) ? int.Parse(c, CultureInfo.InvariantCulture) : null,
            };
        }

        /// <summary>The command that repeats this run from scratch.</summary>
        public string CommandLine()
        {
            var parts = new List<string> { "hilbench", "train", "--arch", ModelBuilder.ResolveSpec(Architecture), "--epochs", $"{Epochs}", "--batch", $"{Batch}",
                "--lr", LearningRate.ToString("R", CultureInfo.InvariantCulture), "--seed", $"{Seed}", "--loss", Loss };
            if (LearningRateSteps != "") parts.AddRange(["--lr-steps", LearningRateSteps]);
            if (Margin is { } m) parts.AddRange(["--margin", m.ToString("R", CultureInfo.InvariantCulture)]);
            if (HorizontalFlips) parts.Add("--hflip");
            if (Profile is not null) parts.AddRange(["--profile", Profile, "--op", $"\"{Point}\""]);
            if (Chip is { } chip) parts.AddRange(["--chip", chip.ToString(CultureInfo.InvariantCulture)]);
            if (Bft01 == Bft10 && Bft01 > 0) parts.AddRange(["--bft", Bft01.ToString("R", CultureInfo.InvariantCulture)]);
            else if (Bft01 != Bft10) parts.AddRange(["--bft-01", Bft01.ToString("R", CultureInfo.InvariantCulture), "--bft-10", Bft10.ToString("R", CultureInfo.InvariantCulture)]);
            parts.AddRange(["--out", Out]);
            return string.Join(" ", parts);
        }

        public TrainingOptions ToOptions(int threads) => new()
        {
            Architecture = Architecture,
            Epochs = Epochs,
            BatchSize = Batch,
            LearningRate = LearningRate,
            LearningRateSteps = LearningRateSteps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int e) && e > 0
                    ? e : throw new CliException($"--lr-steps must list positive epoch numbers such as 10,15, not '{LearningRateSteps}'")).ToArray(),
            Seed = Seed,
            Threads = threads,
            Loss = LossFactory.Create(Loss, Margin),
            BitFlips = Bft01 > 0 || Bft10 > 0 ? new UniformBitErrors(Bft01, Bft10) : null,
            HorizontalFlips = HorizontalFlips,
        };
    }

    /// <summary>The faults of one emulated chip at one point, laid over the weights as the full model's image would be (contiguous placement).</summary>
    private static ChipErrorSource ChipErrors(string profilePath, string point, int? chip, string architecture, TensorShape input)
    {
        var profile = DeviceProfile.Load(profilePath);
        var op = profile.ParsePoint(point);
        var layout = WeightImage.LayoutOf(ModelBuilder.FromSpec(architecture, input, new Random(0)), thresholds: false);
        return new ChipErrorSource(EmulatedChip.Generate(profile, chip), Placement.Create(layout, profile.Geometry), op);
    }

    public sealed record EpochResult(int Epoch, double Seconds, double Loss, double TrainAccuracy, double TestAccuracy);

    public static int Execute(CliContext context, Settings settings, int threads, string? resumeFrom, bool json)
    {
        var data = IdxDataset.Load(settings.Dataset);
        var options = settings.ToOptions(threads);
        if (settings.Profile is { } profilePath)
            options = options with { BitFlips = ChipErrors(profilePath, settings.Point ?? "", settings.Chip, settings.Architecture, data.Train.Shape) };
        var trainer = new BnnTrainer(data.Train.Shape, data.Train.Classes, options);
        int start = 0;
        if (resumeFrom is not null) start = TrainingCheckpoint.Restore(resumeFrom, trainer);
        if (start >= settings.Epochs)
            throw new CliException($"the checkpoint already holds {start} epochs; pass --epochs with a larger total to train further");

        string outPath = OutputFiles.Prepare(settings.Out);
        string checkpoint = outPath + ".ckpt";
        using var cancel = new CtrlC(); // stops after the current step; what is finished stays
        var results = new List<EpochResult>();
        var total = Stopwatch.StartNew();
        try
        {
            for (int epoch = start + 1; epoch <= settings.Epochs; epoch++)
            {
                var watch = Stopwatch.StartNew();
                var progress = RunEpoch(context, json, trainer, data.Train, epoch, settings.Epochs, cancel.Token);
                double seconds = watch.Elapsed.TotalSeconds;
                var model = trainer.Export();
                double test = new InferenceEngine(model).Run(data.Test.Pixels, data.Test.Count).Accuracy(data.Test.Labels);
                TrainingCheckpoint.Save(checkpoint, trainer, epoch, settings.ToDictionary());
                var result = new EpochResult(epoch, seconds, progress.MeanLoss, progress.Accuracy, test);
                results.Add(result);
                if (!json)
                    context.Out.WriteLine($"epoch {epoch}/{settings.Epochs}: loss {result.Loss:F4}, train accuracy {Formatting.Percent(result.TrainAccuracy)}, " +
                                          $"test accuracy {Formatting.Percent(test)}, {result.Seconds:F1} s");
            }
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine(results.Count > 0 || start > 0
                ? $"interrupted: the last complete epoch is in {checkpoint}; continue with: hilbench train --resume {checkpoint}"
                : "interrupted before the first epoch finished; nothing was written");
            return Interrupted;
        }

        var metadata = new ModelMetadata
        {
            Dataset = Path.GetFileName(Path.GetFullPath(settings.Dataset).TrimEnd(Path.DirectorySeparatorChar)),
            Training = new SortedDictionary<string, string>(settings.ToDictionary().Where(kv => kv.Key is not ("out" or "dataset")).ToDictionary(), StringComparer.Ordinal),
        };
        var final = trainer.Export(metadata);
        ModelFile.Save(final, outPath);
        double accuracy = results.Count > 0 ? results[^1].TestAccuracy : new InferenceEngine(final).Run(data.Test.Pixels, data.Test.Count).Accuracy(data.Test.Labels);
        var summary = Summary(settings, results, accuracy, total.Elapsed.TotalSeconds, start);
        OutputFiles.WriteText(outPath + ".json", w => w.WriteLine(summary.ToJsonString(JsonOutput.Indented)));
        if (json) JsonOutput.Write(context, summary);
        else context.Out.WriteLine($"wrote {Formatting.DisplayPath(outPath)} (test accuracy {Formatting.Percent(accuracy)}), summary {Formatting.DisplayPath(outPath + ".json")}, checkpoint {Formatting.DisplayPath(checkpoint)}");
        return CliErrors.Success;
    }

    private static BatchProgress RunEpoch(CliContext context, bool json, BnnTrainer trainer, ImageSet train, int epoch, int epochs, CancellationToken cancel)
    {
        if (!context.Interactive || json) return trainer.TrainEpoch(train, epoch, null, cancel);
        BatchProgress result = default;
        context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"epoch {epoch}/{epochs}");
                result = trainer.TrainEpoch(train, epoch, p =>
                {
                    task.MaxValue = p.Batches;
                    task.Value = p.Batch;
                    task.Description = $"epoch {epoch}/{epochs}  loss {p.MeanLoss:F4}  accuracy {p.Accuracy:P1}";
                }, cancel);
            });
        return result;
    }

    private static JsonObject Summary(Settings settings, List<EpochResult> results, double accuracy, double seconds, int resumedAfter) => new()
    {
        ["command"] = settings.CommandLine(),
        ["model"] = Path.GetFullPath(settings.Out),
        ["seed"] = settings.Seed,
        ["epochs"] = settings.Epochs,
        ["resumed_after_epoch"] = resumedAfter,
        ["wall_seconds"] = seconds,
        ["epoch_seconds"] = new JsonArray(results.Select(r => (JsonNode?)r.Seconds).ToArray()),
        ["train_loss"] = new JsonArray(results.Select(r => (JsonNode?)r.Loss).ToArray()),
        ["train_accuracy"] = new JsonArray(results.Select(r => (JsonNode?)r.TrainAccuracy).ToArray()),
        ["test_accuracy_per_epoch"] = new JsonArray(results.Select(r => (JsonNode?)r.TestAccuracy).ToArray()),
        ["test_accuracy"] = accuracy,
        ["settings"] = new JsonObject(settings.ToDictionary().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };
}
