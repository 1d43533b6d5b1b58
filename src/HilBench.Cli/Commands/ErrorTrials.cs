using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;
using MathNet.Numerics.Distributions;

namespace HilBench.Cli.Commands;

/// <summary>
/// Monte-Carlo accuracy under weight bit errors: K seeded error patterns, each applied to a fresh copy of
/// the model, each classified in full. Trial k of seed s is the same pattern on every machine.
/// </summary>
public static class ErrorTrials
{
    public sealed record Summary(string Source, int Trials, int Seed, double[] Accuracies, double Mean, double? Low, double? High, double FlippedBitsMean);

    public static Summary Run(BnnModel model, IWeightErrorSource source, ImageSet test, int trials, int seed, KernelPath kernel, int threads, Action<string> status)
    {
        var accuracies = new double[trials];
        long flipped = 0;
        for (int k = 0; k < trials; k++)
        {
            status($"Error pattern {k + 1} of {trials}");
            var (corrupted, f) = ErrorInjection.Corrupt(model, source, ErrorInjection.TrialRandom(seed, k));
            flipped += f;
            accuracies[k] = new InferenceEngine(corrupted, kernel).Run(test.Pixels, test.Count, threads).Accuracy(test.Labels);
        }
        double mean = accuracies.Average();
        (double? low, double? high) = (null, null);
        if (trials > 1)
        {
            // Student-t interval for the mean over patterns.
            double sd = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (trials - 1));
            double half = StudentT.InvCDF(0, 1, trials - 1, 0.975) * sd / Math.Sqrt(trials);
            (low, high) = (mean - half, mean + half);
        }
        return new Summary(source.ToString() ?? "", trials, seed, accuracies, mean, low, high, (double)flipped / trials);
    }
}
