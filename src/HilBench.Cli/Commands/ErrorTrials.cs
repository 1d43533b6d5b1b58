using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Images;
using MathNet.Numerics.Distributions;

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
        double mean = accuracies.Average();
        (double? low, double? high) = (null, null);
        if (trials > 1)
        {
            // Student-t interval for the mean over patterns, cut to [0, 1]: with few, very unequal patterns (one bad
            // chip among good ones) the symmetric interval would otherwise leave the range an accuracy can have.
            double sd = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (trials - 1));
            double half = StudentT.InvCDF(0, 1, trials - 1, 0.975) * sd / Math.Sqrt(trials);
            (low, high) = (Math.Max(0, mean - half), Math.Min(1, mean + half));
        }
        double faults = (double)flipped / trials;
        return new Summary(errors.Description, errors.Profile is null ? null : (point ?? errors.Point).ToString(), trials, seed, accuracies, mean, low, high,
            faults, faults / image.BitCount, saving);
    }
}
