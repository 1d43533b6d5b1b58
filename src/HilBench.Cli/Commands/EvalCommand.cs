using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;

namespace HilBench.Cli.Commands;

/// <summary><c>hilbench eval</c>: classify a test split with a model and report accuracy, per-class accuracy and speed.</summary>
public static class EvalCommand
{
    private static readonly string[] FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn) to evaluate");
        var dataset = CliOptions.Dataset();
        var json = CliOptions.Json();
        var predictions = new Option<string?>("--predictions")
        {
            Description = "also write index,label,predicted,logit0..logitK for every test image to this CSV file",
            HelpName = "CSV",
        };
        var threads = CliOptions.Threads("inference threads (0 = all cores)");
        var kernel = CliOptions.Kernel();
        var memory = new MemoryOptions();
        var trials = CliOptions.Integer("--trials", "number of seeded error patterns (with --ber, --ber-01/--ber-10 or --profile)", 10, 1);
        var seed = CliOptions.Integer("--seed", "seed of the error patterns (uniform BER) or of the first chip (--profile): trial k is the same everywhere", 1, int.MinValue);
        var command = new Command("eval", "Classify the test split with a model: accuracy, per-class accuracy, images/s; optionally under memory errors.")
        {
            model, dataset, json, predictions, threads, kernel, trials, seed,
        };
        foreach (var o in memory.All()) command.Options.Add(o);
        command.Validators.Add(r => memory.Validate(r, required: false));
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            using var errors = memory.Resolve(r, r.GetValue(seed), r.GetValue(threads));
            return Execute(context, new Settings(
                r.GetRequiredValue(model),
                r.GetValue(dataset),
                r.GetValue(json),
                r.GetValue(predictions),
                r.GetValue(threads),
                CliOptions.KernelPathOf(r.GetRequiredValue(kernel)),
                errors,
                r.GetValue(trials),
                r.GetValue(seed)));
        }));
        return command;
    }

    /// <summary>What to evaluate; with an <see cref="Errors"/> source, also <see cref="Trials"/> seeded error patterns.</summary>
    public sealed record Settings(string Model, string? Dataset, bool Json, string? Predictions, int Threads, KernelPath Kernel,
        MemoryErrors? Errors = null, int Trials = 10, int Seed = 1);

    /// <summary>What one evaluation found; <see cref="PerClassAccuracy"/> is NaN for a class without test images.</summary>
    public sealed record Report(
        string Model, string Architecture, string Dataset, int Count, int Classes, int Correct, double Accuracy,
        int[] ClassImages, int[] ClassCorrect, double[] PerClassAccuracy, double Seconds, double ImagesPerSecond,
        KernelPath Kernel, int Threads, string? PredictionsFile, ErrorTrials.Summary? Errors);

    public static int Execute(CliContext context, Settings settings)
    {
        var report = context.WithStatus(settings.Json, "Loading the model", status => Evaluate(settings, status));
        if (settings.Json) WriteJson(context, report);
        else WriteText(context, report);
        return CliErrors.Success;
    }

    public static Report Evaluate(Settings settings, Action<string> status)
    {
        var model = ModelFile.Load(settings.Model);
        status("Loading the test images");
        string dir = Path.GetFullPath(settings.Dataset ?? IdxDataset.DefaultDirectory());
        var test = IdxDataset.LoadTest(dir);
        if (test.Shape != model.InputShape)
            throw new CliException(
                $"shape mismatch: the model {settings.Model} expects {model.InputShape} images but the test images in {dir} are {test.Shape}; " +
                $"evaluate it on a data set of {model.InputShape} images, or use a model made for {test.Shape} (e.g. hilbench random --input {test.Shape})");
        if (test.Classes > model.Classes)
            throw new CliException(
                $"the test labels in {dir} go up to class {test.Classes - 1} but the model {settings.Model} has only {model.Classes} outputs; " +
                "use a model trained on this data set");

        var engine = new InferenceEngine(model, settings.Kernel);
        int threads = CliOptions.ResolveThreads(settings.Threads);
        status($"Classifying {test.Count} images");
        var watch = Stopwatch.StartNew();
        var result = engine.Run(test.Pixels, test.Count, threads);
        double seconds = watch.Elapsed.TotalSeconds;

        int classes = model.Classes;
        var images = new int[classes];
        var correct = new int[classes];
        for (int i = 0; i < test.Count; i++)
        {
            int label = test.Labels[i];
            images[label]++;
            if (result.Predictions[i] == label) correct[label]++;
        }
        var perClass = new double[classes];
        for (int c = 0; c < classes; c++) perClass[c] = images[c] == 0 ? double.NaN : (double)correct[c] / images[c];

        string? written = null;
        if (settings.Predictions is { } csv)
        {
            status("Writing the predictions");
            written = WritePredictions(csv, test, result);
        }
        var errors = settings.Errors is { } source
            ? ErrorTrials.Run(model, source, test, settings.Trials, settings.Seed, threads, status)
            : null;
        return new Report(Path.GetFullPath(settings.Model), Formatting.ShortArchitecture(model), dir, test.Count, classes,
            correct.Sum(), result.Accuracy(test.Labels), images, correct, perClass, seconds,
            seconds > 0 ? test.Count / seconds : double.PositiveInfinity, engine.Path, threads, written, errors);
    }

    /// <summary>One row per image: index, label, predicted class, then the integer (unscaled) logits.</summary>
    private static string WritePredictions(string path, ImageSet test, InferenceResult result) =>
        OutputFiles.WriteText(path, w =>
        {
            var line = new StringBuilder("index,label,predicted");
            for (int k = 0; k < result.Classes; k++) line.Append(",logit").Append(k.ToString(CultureInfo.InvariantCulture));
            w.WriteLine(line);
            for (int i = 0; i < result.Count; i++)
            {
                line.Clear();
                line.Append(i.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(test.Labels[i].ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(result.Predictions[i].ToString(CultureInfo.InvariantCulture));
                foreach (int logit in result.LogitsOf(i)) line.Append(',').Append(logit.ToString(CultureInfo.InvariantCulture));
                w.WriteLine(line);
            }
        });

    private static void WriteJson(CliContext context, Report r)
    {
        var perClass = new JsonArray();
        foreach (double a in r.PerClassAccuracy) perClass.Add(JsonOutput.Number(a));
        var json = new JsonObject
        {
            ["model"] = r.Model,
            ["architecture"] = r.Architecture,
            ["dataset"] = r.Dataset,
            ["count"] = r.Count,
            ["classes"] = r.Classes,
            ["correct"] = r.Correct,
            ["accuracy"] = r.Accuracy,
            ["per_class_accuracy"] = perClass,
            ["per_class_count"] = new JsonArray(r.ClassImages.Select(n => (JsonNode?)n).ToArray()),
            ["seconds"] = r.Seconds,
            ["images_per_s"] = JsonOutput.Number(r.ImagesPerSecond),
            ["kernel"] = CliOptions.NameOf(r.Kernel),
            ["threads"] = r.Threads,
            ["predictions"] = r.PredictionsFile,
        };
        if (r.Errors is { } e)
        {
            json["errors"] = e.Source;
            json["operating_point"] = e.Point;
            json["trials"] = e.Trials;
            json["seed"] = e.Seed;
            json["accuracy_mean"] = e.Mean;
            json["accuracy_ci95"] = e.Low is { } low && e.High is { } high ? new JsonArray(JsonOutput.Number(low), JsonOutput.Number(high)) : null;
            json["accuracy_trials"] = new JsonArray(e.Accuracies.Select(a => (JsonNode?)a).ToArray());
            json["flipped_bits_mean"] = e.FlippedBitsMean;
            json["bit_error_rate"] = e.BitErrorRate;
            json["energy_saving"] = e.EnergySaving;
        }
        JsonOutput.Write(context, json);
    }

    private static void WriteText(CliContext context, Report r)
    {
        var o = context.Out;
        o.WriteLine($"model     {Formatting.DisplayPath(r.Model)} ({r.Architecture})");
        o.WriteLine($"dataset   {Formatting.DisplayPath(r.Dataset)} ({Formatting.Count(r.Count)} test images)");
        o.WriteLine($"accuracy  {Formatting.Percent(r.Accuracy)} ({Formatting.Count(r.Correct)} of {Formatting.Count(r.Count)} correct)");
        o.WriteLine($"speed     {Formatting.Rate(r.ImagesPerSecond)} images/s (one cold run, {Formatting.Fixed(r.Seconds, 3)} s wall time), " +
                    $"kernel {CliOptions.NameOf(r.Kernel)}, {r.Threads} thread{(r.Threads == 1 ? "" : "s")}");
        o.Flush();

        bool named = Path.GetFileName(r.Dataset) == "fashion-mnist" && r.Classes == FashionMnistClasses.Length;
        var table = named
            ? Formatting.Table(">class", "name", ">images", ">correct", ">accuracy")
            : Formatting.Table(">class", ">images", ">correct", ">accuracy");
        for (int c = 0; c < r.Classes; c++)
        {
            var cells = new List<string> { c.ToString(CultureInfo.InvariantCulture) };
            if (named) cells.Add(FashionMnistClasses[c]);
            cells.Add(Formatting.Count(r.ClassImages[c]));
            cells.Add(Formatting.Count(r.ClassCorrect[c]));
            cells.Add(Formatting.Percent(r.PerClassAccuracy[c]));
            Formatting.Row(table, [.. cells]);
        }
        context.Console.Write(table);
        if (r.PredictionsFile is { } file) o.WriteLine($"predictions written to {Formatting.DisplayPath(file)}");
        if (r.Errors is { } e)
        {
            string interval = e.Low is { } low && e.High is { } high ? $", 95% interval {Formatting.Percent(low)}..{Formatting.Percent(high)}" : "";
            o.WriteLine($"errors    {e.Source}: accuracy {Formatting.Percent(e.Mean)} mean over {e.Trials} pattern{(e.Trials == 1 ? "" : "s")} (seed {e.Seed}){interval}, " +
                        $"{Formatting.Count((long)Math.Round(e.FlippedBitsMean))} bits wrong per pattern on average (BER {e.BitErrorRate:G3})" +
                        (e.EnergySaving is { } saving ? $", read energy saved {Formatting.Percent(saving)}" : ""));
        }
    }
}
