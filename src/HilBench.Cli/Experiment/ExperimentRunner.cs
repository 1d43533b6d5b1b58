using System.Diagnostics;
using System.Globalization;
using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Metrics.Importance;
using HilBench.Metrics.Margins;
using HilBench.Metrics.Predictions;
using HilBench.Metrics.Tolerance;

namespace HilBench.Cli.Experiment;

/// <summary>A model of the study, loaded and checked: its full path, the name the report gives it, and a hash of the file's bytes.</summary>
public sealed record StudyModel(string Path, string Name, BnnModel Model, string Hash);

/// <summary>Everything the study measures on one model: metrics, tolerance curve, predictions and, with a profile, accuracy per operating point.</summary>
public static class ExperimentRunner
{
    /// <summary>Patterns used to measure a layer's flip fraction against its prediction.</summary>
    public const int FlipPatterns = 50;

    /// <summary>Images the flip fractions are predicted and measured on (enough for a layer mean; the measurement costs a layer pass per pattern).</summary>
    public const int FlipImages = 1000;

    /// <summary>
    /// Loads a model of the study and checks, before anything is measured, that the study can measure it: its input shape is the
    /// data set's, and it has a hidden block (the metrics are per hidden layer).
    /// </summary>
    public static StudyModel Prepare(string path, string name, ImageSet test)
    {
        var model = ModelFile.Load(path);
        if (model.InputShape != test.Shape)
            throw new CliException($"{path} expects {model.InputShape} images but the data set has {test.Shape}; leave it out of --models or pass the matching --dataset");
        if (model.Blocks.All(b => b.IsOutput))
            throw new CliException($"{path} has no hidden block (its only weight layer is the output layer), so it has no NL or IN to measure; leave it out of --models");
        return new StudyModel(Path.GetFullPath(path), name, model, ContentHash.OfFile(path));
    }

    /// <summary>
    /// Measures one model on <paramref name="data"/> (the test images), with the importances on <paramref name="importanceData"/>
    /// (<paramref name="data"/> itself, a part of it, or training images).
    /// </summary>
    public static ModelResult Run(StudyModel study, ImageSet data, ImageSet importanceData, ExperimentSettings settings, MemoryErrors? sweep, int threads,
        Action<string> status, CancellationToken cancel)
    {
        var watch = Stopwatch.StartNew();
        var phases = new SortedDictionary<string, double>(StringComparer.Ordinal);
        T Timed<T>(string phase, Func<T> work)
        {
            var w = Stopwatch.StartNew();
            var result = work();
            phases[phase] = phases.GetValueOrDefault(phase) + w.Elapsed.TotalSeconds;
            return result;
        }
        var (model, name) = (study.Model, study.Name);

        status($"{name}: clean pass and activations");
        var captured = Timed("clean pass", () => new InferenceEngine(model).Run(data.Pixels, data.Count, threads, captureLayers: true));
        double clean = captured.Accuracy(data.Labels);

        status($"{name}: margins");
        var margins = Timed("margins", () => NeuronLevelMetric.Compute(model, captured, data, threads: threads));
        var importanceCapture = importanceData == data ? captured : new InferenceEngine(model).Run(importanceData.Pixels, importanceData.Count, threads, captureLayers: true);
        var flipData = data.Count > FlipImages ? data.Take(FlipImages) : data;
        var flipCapture = new InferenceEngine(model).Run(flipData.Pixels, flipData.Count, threads, captureLayers: true);
        var layers = new List<LayerResult>();
        foreach (var m in margins)
        {
            cancel.ThrowIfCancellationRequested();
            status($"{name}: importance of block {m.Block}'s {m.Neurons} neurons");
            var importance = Timed("importance", () => NeuronImportance.Compute(model, importanceData, m.Block, threads, importanceCapture));
            var (predicted, measured) = Timed("flip fractions", () => FlipFractions(model, flipCapture, m.Block, settings, status, name));
            layers.Add(new LayerResult(m.Block, model.Blocks[m.Block].Linear.Kind, m.Neurons, m.FanIn,
                m.Mean, m.Median, m.Quantile5, m.HistogramEdges, m.HistogramCounts, m.MeanFlipsToChange, Formatting.FlipMethod(m.FlipMethod), m.UnreachableSamples,
                importance.AccuracyDrop.Average(), importance.AccuracyVariance, importance.AccuracyCv, importance.MarginVariance, importance.MarginCv,
                importance.AccuracyVarianceCorrected, importance.MarginVarianceCorrected,
                predicted, measured));
        }

        status($"{name}: accuracy under bit errors");
        var curve = Timed("tolerance", () => MonteCarlo.UniformCurve(model, data, settings.Bers, settings.Trials, settings.Seed, threads,
            s => status($"{name}: {s}"), cancel));
        status($"{name}: predicted accuracy");
        var points = Timed("accuracy prediction", () => curve.Points.Select(p => new CurvePoint(p.Ber, p.Mean, p.Low, p.High,
            Predicted(model, settings, p.Ber) ? Predict(model, data, captured, p.Ber) : null)).ToArray());

        var energy = sweep is null ? [] : Timed("operating points", () => Energy(model, data, sweep, settings, threads, s => status($"{name}: {s}"), cancel));
        var training = model.Metadata.Training;
        double Rate(string key) => training.TryGetValue(key, out var r) ? double.Parse(r, CultureInfo.InvariantCulture) : 0;
        // One symmetric rate or none: a model trained against a device profile, or with unequal rates, has no BFT rate (NaN).
        double bft = training.ContainsKey("profile") || Rate("bft_01") != Rate("bft_10") ? double.NaN : Rate("bft_10");
        return new ModelResult(name, study.Path, Formatting.ShortArchitecture(model), GroupOf(model), bft,
            training.TryGetValue("loss", out var loss) ? loss : "", clean, layers.ToArray(), points, curve.NormalizedAuc, curve.MaxBerWithinOnePoint,
            energy, watch.Elapsed.TotalSeconds, settings.Key(), study.Hash) { Phases = phases };
    }

    /// <summary>"mlp", "vgg3", or the architecture: correlations are taken within a group of like models.</summary>
    public static string GroupOf(BnnModel model)
    {
        string arch = Formatting.ShortArchitecture(model);
        return arch switch
        {
            "784-2048-2048-10" => "mlp",
            _ when arch.EndsWith("c64-p-c64-p-2048-10", StringComparison.Ordinal) => "vgg3",
            _ => arch,
        };
    }

    /// <summary>
    /// Where the study predicts accuracy: dense models at the BERs nearest 1, 5, 10 and 20%; models with conv blocks, whose
    /// propagation costs about 20 Monte-Carlo patterns, only at the prediction BER (when it is measured), to keep the study short.
    /// </summary>
    private static bool Predicted(BnnModel model, ExperimentSettings settings, double ber) =>
        ber == 0 || (model.Blocks.Any(b => b.Linear is not Bnn.Layers.BinaryDense) ? ber == settings.ConvPredictedBer : settings.PredictedBers.Contains(ber));

    private static double? Predict(BnnModel model, ImageSet data, InferenceResult captured, double ber)
    {
        if (ber == 0) return captured.Accuracy(data.Labels);
        try
        {
            return AccuracyPrediction.Predict(model, data, captured, new UniformBitErrors(ber));
        }
        catch (NotSupportedException)
        {
            return null; // a layer kind the propagation does not cover
        }
    }

    private static (double? Predicted, double? Measured) FlipFractions(BnnModel model, InferenceResult captured, int block, ExperimentSettings settings,
        Action<string> status, string name)
    {
        if (block == 0 || settings.PredictionBer <= 0) return (null, null); // the pixel layer has no binary inputs
        var errors = new UniformBitErrors(settings.PredictionBer);
        try
        {
            var predicted = FlipPrediction.Predict(model, captured, block, errors);
            status($"{name}: flip fraction of block {block} over {FlipPatterns} patterns");
            var measured = FlipPrediction.Measure(model, captured, block, errors, FlipPatterns, settings.Seed);
            return (predicted.MeanFlipFraction, measured.MeanFlipFraction);
        }
        catch (NotSupportedException)
        {
            return (null, null);
        }
    }

    /// <summary>
    /// Accuracy per voltage in the sweep's memory: emulated chips (one per trial, kept across voltages and models, so the
    /// sweep sees the same population of chips everywhere, as hilbench sweep does) or one board read once per trial.
    /// </summary>
    private static EnergyPoint[] Energy(BnnModel model, ImageSet data, MemoryErrors sweep, ExperimentSettings settings, int threads,
        Action<string> status, CancellationToken cancel)
    {
        var result = new List<EnergyPoint>();
        foreach (double v in settings.Voltages)
        {
            var point = sweep.Check(sweep.Point with { Voltage = v });
            status($"accuracy at {point}");
            var p = MonteCarlo.Measure(model, data, sweep.BackendFor, new LoadRequest(point), settings.Chips, threads, cancel);
            result.Add(new EnergyPoint(point.ToString(), v, p.Ber, p.Mean, p.Low, p.High, p.EnergySaving));
        }
        return result.ToArray();
    }
}
