using System.Globalization;
using System.Runtime.ExceptionServices;
using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;
using HilBench.Metrics.Statistics;

namespace HilBench.Metrics.Tolerance;

/// <summary>
/// Tolerance as ground truth: accuracy of a model whose weights went through a memory backend, over K Monte-Carlo error
/// patterns. Patterns run in parallel (each pattern's inference on one thread), so the result is the same for every thread
/// count: trial k's accuracy depends only on the backend's answer for trial k.
/// </summary>
public static class MonteCarlo
{
    /// <summary>
    /// Accuracy over <paramref name="trials"/> loads of the model's weight image (weights only, thresholds in error-free storage).
    /// See <see cref="Measure(BnnModel, WeightImage, ImageSet, Func{int, IMemoryBackend}, LoadRequest, int, int, CancellationToken, Action{string}?)"/>.
    /// </summary>
    public static TolerancePoint Measure(BnnModel model, ImageSet data, Func<int, IMemoryBackend> backendForTrial, LoadRequest template, int trials,
        int threads, CancellationToken cancel = default, Action<string>? progress = null) =>
        Measure(model, WeightImage.FromModel(model), data, backendForTrial, template, trials, threads, cancel, progress);

    /// <summary>
    /// Accuracy over <paramref name="trials"/> loads of <paramref name="image"/> (made from <paramref name="model"/>, with or without
    /// thresholds): trial k stores the image in <c>backendForTrial(k)</c> (once per distinct backend in this call), loads it with
    /// <c>template with { Trial = k }</c>, turns the readout into a model and classifies <paramref name="data"/> on one thread.
    /// Up to <paramref name="threads"/> patterns run at once (0 = all cores). Backends are used by one thread at a time (stores and
    /// loads are serialised; a load is cheap next to an inference pass, and a board can only do one at a time); the caller owns
    /// and disposes them. <paramref name="progress"/> is told when each pattern starts (from worker threads, one at a time).
    /// The point's label is the template's operating point and its BER the measured mean BER over the image's bits.
    /// </summary>
    public static TolerancePoint Measure(BnnModel model, WeightImage image, ImageSet data, Func<int, IMemoryBackend> backendForTrial,
        LoadRequest template, int trials, int threads, CancellationToken cancel = default, Action<string>? progress = null)
    {
        var m = Run(model, image, data, backendForTrial, template, trials, threads, cancel, progress, serializeLoads: true);
        return m.ToPoint(template.Point.ToString(), m.FaultsMean / image.BitCount);
    }

    /// <summary>
    /// Accuracy against symmetric uniform BER: the clean accuracy, then for each BER <paramref name="trials"/> patterns from
    /// <c>new UniformBerBackend(new UniformBitErrors(p), seed)</c>, trial k drawing exactly the pattern of
    /// <see cref="ErrorInjection.Corrupt"/> with <see cref="ErrorInjection.TrialRandom"/>(seed, k). BER 0 is the clean accuracy
    /// for every pattern, without running any. Points come in the order of <paramref name="bers"/>, labelled with the BER
    /// (invariant culture, e.g. "0.05").
    /// </summary>
    public static ToleranceCurve UniformCurve(BnnModel model, ImageSet data, IReadOnlyList<double> bers, int trials, int seed, int threads,
        Action<string>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(bers);
        CheckTrials(trials);
        progress?.Invoke("clean accuracy");
        double clean = new InferenceEngine(model).Run(data.Pixels, data.Count, threads).Accuracy(data.Labels);
        var image = WeightImage.FromModel(model);
        var points = new List<TolerancePoint>(bers.Count);
        foreach (double p in bers)
        {
            cancel.ThrowIfCancellationRequested();
            string label = p.ToString(CultureInfo.InvariantCulture);
            if (p == 0)
            {
                var same = Enumerable.Repeat(clean, trials).ToArray();
                var (mean, low, high) = Correlations.MeanInterval(same, clipToUnit: true);
                points.Add(new TolerancePoint(label, 0, mean, low, high, same, 0, null));
                continue;
            }
            using var backend = new UniformBerBackend(new UniformBitErrors(p), seed);
            // A uniform-BER load only reads the stored image (its pattern comes from the trial's own random stream), so loads
            // may overlap: at high rates drawing the pattern costs about as much as an inference pass.
            var run = Run(model, image, data, _ => backend, new LoadRequest(new OperatingPoint(0)), trials, threads, cancel,
                progress is null ? null : s => progress($"BER {label}: {s}"), serializeLoads: false);
            points.Add(run.ToPoint(label, p));
        }
        return new ToleranceCurve(clean, points);
    }

    private sealed record Measured(double[] Accuracies, double FaultsMean, double? EnergySaving)
    {
        public TolerancePoint ToPoint(string label, double ber)
        {
            var (mean, low, high) = Correlations.MeanInterval(Accuracies, clipToUnit: true);
            return new TolerancePoint(label, ber, mean, low, high, Accuracies, FaultsMean, EnergySaving);
        }
    }

    /// <summary>Per-worker buffer: the corrupted image is written here and only the model copy is new per pattern.</summary>
    private sealed class Worker(ImageLayout layout)
    {
        public WeightImage Buffer { get; } = new(layout);
    }

    private static Measured Run(BnnModel model, WeightImage image, ImageSet data, Func<int, IMemoryBackend> backendForTrial, LoadRequest template,
        int trials, int threads, CancellationToken cancel, Action<string>? progress, bool serializeLoads)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(backendForTrial);
        ArgumentNullException.ThrowIfNull(template);
        CheckTrials(trials);
        if (data.Shape != model.InputShape) throw new ArgumentException($"the model reads {model.InputShape} images but the data has {data.Shape}");
        if (!WeightImage.LayoutOf(model, image.Layout.IncludesThresholds).SameShape(image.Layout))
            throw new ArgumentException("the weight image was not made from this model (its layout differs)");
        if (threads <= 0) threads = Environment.ProcessorCount;

        var accuracies = new double[trials];
        var faults = new long[trials];
        var savings = new double?[trials];
        var stored = new HashSet<IMemoryBackend>(ReferenceEqualityComparer.Instance);
        var gate = new object();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Min(threads, trials), CancellationToken = cancel };
        try
        {
            Parallel.For(0, trials, options, () => new Worker(image.Layout), (k, _, worker) =>
            {
                IMemoryBackend backend;
                lock (gate)
                {
                    cancel.ThrowIfCancellationRequested();
                    progress?.Invoke($"pattern {k + 1} of {trials}");
                    backend = backendForTrial(k) ?? throw new InvalidOperationException($"no backend for trial {k}");
                    if (stored.Add(backend)) backend.Store(image, cancel);
                }
                MemoryReadout readout;
                if (serializeLoads)
                    lock (gate) readout = backend.Load(template with { Trial = k }, cancel);
                else readout = backend.Load(template with { Trial = k }, cancel);
                faults[k] = readout.Faults.Count;
                savings[k] = readout.EnergySaving;
                var corrupted = readout.CopyTo(worker.Buffer).ToModel(model);
                accuracies[k] = new InferenceEngine(corrupted).Run(data.Pixels, data.Count, threads: 1).Accuracy(data.Labels);
                return worker;
            }, _ => { });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw; // not reached
        }
        var reported = savings.Where(s => s.HasValue).Select(s => s!.Value).ToArray();
        return new Measured(accuracies, (double)faults.Sum() / trials, reported.Length == 0 ? null : reported.Average());
    }

    private static void CheckTrials(int trials)
    {
        if (trials < 1) throw new ArgumentOutOfRangeException(nameof(trials), trials, "at least one error pattern is needed");
    }
}
