using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Memory.Images;
using HilBench.Metrics.Importance;
using HilBench.Metrics.Margins;

namespace HilBench.Cli.Commands;

/// <summary>
/// <c>hilbench metrics</c>: the neuron-level margin metric (NL) and the inter-neuron importance metric (IN) of every hidden
/// layer; with a memory (--ber, --profile, --replay, --backend board), of the model as read back from that memory once.
/// </summary>
public static class MetricsCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model("model file (.hbnn)");
        var dataset = CliOptions.Dataset();
        var images = CliOptions.Integer("--images", "test images for the margins (the first N)", 10_000, 1);
        var importanceImages = CliOptions.Integer("--importance-images", "images for the importances (the first N of --importance-split; with test, at most --images)", 10_000, 1);
        var importanceSplit = CliOptions.ImportanceSplit();
        var threads = CliOptions.Threads("threads (0 = all cores)");
        var json = CliOptions.Json();
        var memory = new MemoryOptions();
        var seed = CliOptions.Integer("--seed", "with a memory: seed of the error pattern or the chip", 1, int.MinValue);
        var command = new Command("metrics", "Neuron-level margins (NL) and neuron-importance variance (IN) of every hidden layer of a model, optionally as read back from a memory.")
        {
            model, dataset, images, importanceImages, importanceSplit, threads, json, seed,
        };
        foreach (var o in memory.All()) command.Options.Add(o);
        command.Validators.Add(r => memory.Validate(r, required: false));
        command.SetAction(r => CliErrors.Guard(context, () =>
        {
            string path = r.GetRequiredValue(model);
            var m = ModelFile.Load(path);
            string? readFrom = null;
            using (var errors = memory.Resolve(r, r.GetValue(seed), r.GetValue(threads)))
                if (errors is not null)
                {
                    var readout = errors.Load(WeightImage.FromModel(m, errors.ThresholdsInMemory), trial: 0);
                    m = readout.Image.ToModel(m);
                    readFrom = $"{errors.Description}: {readout.Faults.Count:N0} wrong bits";
                }
            string datasetPath = Path.GetFullPath(r.GetValue(dataset) ?? IdxDataset.DefaultDirectory());
            var test = IdxDataset.LoadTest(datasetPath);
            if (m.InputShape != test.Shape) throw new CliException($"the model {path} expects {m.InputShape} images but the data set has {test.Shape}");
            int n = Math.Min(r.GetValue(images), test.Count), threadCount = CliOptions.ResolveThreads(r.GetValue(threads));
            var data = test.Take(n);
            string split = r.GetRequiredValue(importanceSplit);
            var importanceData = CliOptions.ImportanceImages(split, datasetPath, data, r.GetValue(importanceImages));
            var rows = context.WithStatus(r.GetValue(json), "Margins", status =>
            {
                var captured = new InferenceEngine(m).Run(data.Pixels, data.Count, threadCount, captureLayers: true);
                var margins = NeuronLevelMetric.Compute(m, captured, data, threads: threadCount);
                var importanceCapture = importanceData == data ? captured
                    : new InferenceEngine(m).Run(importanceData.Pixels, importanceData.Count, threadCount, captureLayers: true);
                return margins.Select(l =>
                {
                    status($"Importance of block {l.Block}'s {l.Neurons} neurons");
                    return (Margins: l, Importance: NeuronImportance.Compute(m, importanceData, l.Block, threadCount, importanceCapture));
                }).ToArray();
            });
            if (r.GetValue(json))
            {
                JsonOutput.Write(context, new JsonObject
                {
                    ["model"] = Path.GetFullPath(path),
                    ["memory"] = readFrom,
                    ["images"] = n,
                    ["importance_images"] = importanceData.Count,
                    ["importance_split"] = split,
                    ["layers"] = new JsonArray(rows.Select(x => (JsonNode?)new JsonObject
                    {
                        ["block"] = x.Margins.Block,
                        ["neurons"] = x.Margins.Neurons,
                        ["fan_in"] = x.Margins.FanIn,
                        ["nl_mean"] = x.Margins.Mean,
                        ["nl_median"] = x.Margins.Median,
                        ["nl_q05"] = x.Margins.Quantile5,
                        ["mean_flips_to_change"] = JsonOutput.Number(x.Margins.MeanFlipsToChange),
                        ["flip_method"] = Formatting.FlipMethod(x.Margins.FlipMethod),
                        ["unreachable_samples"] = x.Margins.UnreachableSamples,
                        ["histogram_edges"] = new JsonArray(x.Margins.HistogramEdges.Select(v => (JsonNode?)v).ToArray()),
                        ["histogram_counts"] = new JsonArray(x.Margins.HistogramCounts.Select(v => (JsonNode?)v).ToArray()),
                        ["importance_mean"] = x.Importance.AccuracyDrop.Average(),
                        ["in_variance"] = x.Importance.AccuracyVariance,
                        ["in_variance_corrected"] = JsonOutput.Number(x.Importance.AccuracyVarianceCorrected),
                        ["in_cv"] = JsonOutput.Number(x.Importance.AccuracyCv),
                        ["in_margin_variance"] = x.Importance.MarginVariance,
                        ["in_margin_variance_corrected"] = JsonOutput.Number(x.Importance.MarginVarianceCorrected),
                        ["in_margin_cv"] = JsonOutput.Number(x.Importance.MarginCv),
                    }).ToArray()),
                });
                return CliErrors.Success;
            }
            context.Out.WriteLine($"model     {Formatting.DisplayPath(path)} ({Formatting.ShortArchitecture(m)})");
            if (readFrom is not null) context.Out.WriteLine($"memory    {readFrom}");
            context.Out.WriteLine($"images    {n:N0} for margins, {importanceData.Count:N0} for importances{(split == CliOptions.TrainSplit ? " (training images)" : "")}");
            context.Out.Flush();
            var table = Formatting.Table(">block", ">neurons", ">fan-in", ">NL mean", ">median", ">5% quantile", ">flips to change", ">IN variance", ">corrected", ">IN cv", ">mean importance");
            foreach (var (l, i) in rows)
                Formatting.Row(table, l.Block.ToString(CultureInfo.InvariantCulture), l.Neurons.ToString(CultureInfo.InvariantCulture), l.FanIn.ToString(CultureInfo.InvariantCulture),
                    l.Mean.ToString("F4", CultureInfo.InvariantCulture), l.Median.ToString("F4", CultureInfo.InvariantCulture), l.Quantile5.ToString("F4", CultureInfo.InvariantCulture),
                    (l.FlipMethod == FlipCountMethod.PooledConvApproximation ? "~" : "") + l.MeanFlipsToChange.ToString("F1", CultureInfo.InvariantCulture),
                    i.AccuracyVariance.ToString("G3", CultureInfo.InvariantCulture),
                    i.AccuracyVarianceCorrected.ToString("G3", CultureInfo.InvariantCulture),
                    i.AccuracyCv.ToString("F2", CultureInfo.InvariantCulture), i.AccuracyDrop.Average().ToString("G3", CultureInfo.InvariantCulture));
            context.Console.Write(table);
            context.Out.WriteLine("flips to change: the mean over the samples some flips can change; left out: " +
                string.Join(", ", rows.Select(x => $"block {x.Margins.Block} {Formatting.Count(x.Margins.UnreachableSamples)} of {Formatting.Count(x.Margins.Samples)}")));
            if (rows.Any(x => x.Margins.FlipMethod == FlipCountMethod.PooledConvApproximation))
                context.Out.WriteLine("~ conv block with pooling: counted at the window position that attains the maximum, ignoring the other positions and the shared weights (an approximation)");
            return CliErrors.Success;
        }));
        return command;
    }
}
