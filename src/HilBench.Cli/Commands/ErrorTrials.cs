using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Images;
using HilBench.Metrics.Statistics;

namespace HilBench.Cli.Commands;

/// <summary>
/// Monte-Carlo accuracy under memory errors: K seeded loads of the model's weight image through a memory
/// backend, each classified in full. Trial k of a seed is the same pattern on every machine.
/// </summary>
public static class ErrorTrials
{
    public sealed record Summary(string Source, string? Point, int Trials, int Seed, double[] Accuracies, double Mean, double? Low, double? High,
        double FlippedBitsMean, double BitErrorRate, double? EnergySaving);

    public static Summary Run(BnnModel model, MemoryErrors errors, ImageSet test, int trials, int seed, KernelPath kernel, int threads,
        Action<string> status, OperatingPoint? point = null, CancellationToken cancel = default)
    {
        var image = WeightImage.FromModel(model, errors.ThresholdsInMemory);
        var buffer = new WeightImage(image.Layout);
        var accuracies = new double[trials];
        long flipped = 0;
        double? saving = null;
        for (int k = 0; k < trials; k++)
        {
            status($"Error pattern {k + 1} of {trials}");
            var readout = errors.Load(image, k, point, cancel);
            flipped += readout.Faults.Count;
            saving ??= readout.EnergySaving;
            var corrupted = readout.CopyTo(buffer).ToModel(model);
            accuracies[k] = new InferenceEngine(corrupted, kernel).Run(test.Pixels, test.Count, threads).Accuracy(test.Labels);
        }
        var (mean, low, high) = Correlations.MeanInterval(accuracies, clipToUnit: true);
        double faults = (double)flipped / trials;
        return new Summary(errors.Description, errors.Profile is null ? null : (point ?? errors.Point).ToString(), trials, seed, accuracies, mean,
            double.IsNaN(low) ? null : low, double.IsNaN(high) ? null : high,
            faults, faults / image.BitCount, saving);
    }
}
