using System.Globalization;
using System.Runtime.ExceptionServices;
using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
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
        ArgumentNullException.ThrowIfNull(backendForTrial);
        ArgumentNullException.ThrowIfNull(template);
        var stored = new HashSet<IMemoryBackend>(ReferenceEqualityComparer.Instance);
        var gate = new object();
        var m = Run(model, image, data, (k, buffer) =>
        {
            MemoryReadout readout;
            lock (gate)
            {
                var backend = backendForTrial(k) ?? throw new InvalidOperationException($"no backend for trial {k}");
                if (stored.Add(backend)) backend.Store(image, cancel);
                readout = backend.Load(template with { Trial = k }, cancel);
            }
            readout.CopyTo(buffer);
            return (readout.Faults.Count, readout.EnergySaving);
        }, trials, threads, cancel, progress);
        return m.ToPoint(template.Point.ToString(), m.FaultsMean / image.BitCount);
    }

    /// <summary>
    /// Accuracy against symmetric uniform BER: the clean accuracy, then for each BER <paramref name="trials"/> patterns, trial k
    /// drawing exactly the pattern of <c>new UniformBerBackend(new UniformBitErrors(p), seed)</c> and of
    /// <see cref="ErrorInjection.Corrupt"/> with <see cref="ErrorInjection.TrialRandom"/>(seed, k), flipped straight into each worker's
    /// image (no fault list, which at 10 % BER of a VGG3 would be half a million entries per pattern). BER 0 is the clean accuracy
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
                var (mean, low, high) = Correlations.MeanInterval(same);
                points.Add(new TolerancePoint(label, 0, mean, low, high, same, 0, null));
                continue;
            }
            var errors = new UniformBitErrors(p);
            // Each pattern comes from the trial's own random stream, so patterns are drawn in parallel.
            var run = Run(model, image, data, (k, buffer) =>
            {
                buffer.CopyFrom(image);
                return (buffer.Inject(errors, ErrorInjection.TrialRandom(seed, k)), null);
            }, trials, threads, cancel, progress is null ? null : s => progress($"BER {label}: {s}"));
            points.Add(run.ToPoint(label, p));
        }
        return new ToleranceCurve(clean, points);
    }

    private sealed record Measured(double[] Accuracies, double FaultsMean, double? EnergySaving)
    {
        public TolerancePoint ToPoint(string label, double ber)
        {
            var (mean, low, high) = Correlations.MeanInterval(Accuracies);
            return new TolerancePoint(label, ber, mean, low, high, Accuracies, FaultsMean, EnergySaving);
        }
    }

    /// <summary>
    /// Trial k: <paramref name="load"/> writes the image as read back into the worker's buffer and says how many bits were wrong
    /// and the energy saving, if known; the buffer becomes a model that classifies the data on one thread.
    /// </summary>
    private static Measured Run(BnnModel model, WeightImage image, ImageSet data, Func<int, WeightImage, (long Faults, double? Saving)> load,
        int trials, int threads, CancellationToken cancel, Action<string>? progress)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(data);
        CheckTrials(trials);
        if (data.Shape != model.InputShape) throw new ArgumentException($"the model reads {model.InputShape} images but the data has {data.Shape}");
        if (!WeightImage.LayoutOf(model, image.Layout.IncludesThresholds).SameShape(image.Layout))
            throw new ArgumentException("the weight image was not made from this model (its layout differs)");
        if (threads <= 0) threads = Environment.ProcessorCount;

        var accuracies = new double[trials];
        var faults = new long[trials];
        var savings = new double?[trials];
        var gate = new object();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Min(threads, trials), CancellationToken = cancel };
        try
        {
            Parallel.For(0, trials, options, () => new WeightImage(image.Layout), (k, _, buffer) =>
            {
                lock (gate)
                {
                    cancel.ThrowIfCancellationRequested();
                    progress?.Invoke($"pattern {k + 1} of {trials}");
                }
                (faults[k], savings[k]) = load(k, buffer);
                accuracies[k] = new InferenceEngine(buffer.ToModel(model)).Run(data.Pixels, data.Count, threads: 1).Accuracy(data.Labels);
                return buffer;
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
