using HilBench.Bnn.Data;
using HilBench.Bnn.Model;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;
using HilBench.Metrics.Tolerance;

namespace HilBench.Cli.Commands;

/// <summary>
/// Monte-Carlo accuracy under memory errors for eval and sweep: K seeded loads of the model's weight image through
/// the chosen backends (<see cref="MonteCarlo.Measure(BnnModel, WeightImage, ImageSet, Func{int, IMemoryBackend}, LoadRequest, int, int, CancellationToken, Action{string}?)"/>),
/// each classified in full, patterns in parallel. Trial k of a seed is the same pattern on every machine.
/// </summary>
public static class ErrorTrials
{
    public sealed record Summary(string Source, string? Point, int Trials, int Seed, double[] Accuracies, double Mean, double? Low, double? High,
        double FlippedBitsMean, double BitErrorRate, double? EnergySaving);

    public static Summary Run(BnnModel model, MemoryErrors errors, ImageSet test, int trials, int seed, int threads,
        Action<string> status, OperatingPoint? point = null, CancellationToken cancel = default)
    {
        var image = WeightImage.FromModel(model, errors.ThresholdsInMemory);
        var at = point ?? errors.Point;
        var p = MonteCarlo.Measure(model, image, test, errors.BackendFor, new LoadRequest(at), trials, threads, cancel, status);
        return new Summary(errors.Description, errors.HasOperatingPoints ? at.ToString() : null, trials, seed, p.Accuracies, p.Mean,
            double.IsNaN(p.Low) ? null : p.Low, double.IsNaN(p.High) ? null : p.High, p.FaultsMean, p.FaultsMean / image.BitCount, p.EnergySaving);
    }
}
