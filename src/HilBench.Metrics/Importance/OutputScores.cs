using System.Runtime.CompilerServices;

namespace HilBench.Metrics.Importance;

/// <summary>The unmodified model's output per image: is it correct, and its integer output margin.</summary>
internal sealed class CleanScores
{
    public CleanScores(int images, Func<int, ReadOnlySpan<int>> logitsOf, IReadOnlyList<byte> labels)
    {
        Correct = new bool[images];
        Margin = new long[images];
        for (int x = 0; x < images; x++)
        {
            var (top, margin) = OutputScores.Score(logitsOf(x));
            Correct[x] = top == labels[x];
            Margin[x] = margin;
            if (Correct[x]) CorrectCount++;
            MarginSum += margin;
        }
    }

    public bool[] Correct { get; }
    public long[] Margin { get; }
    public long CorrectCount { get; }
    public long MarginSum { get; }
    public int Images => Correct.Length;
}

/// <summary>
/// Integer totals of the output for each inverted neuron j against the clean model, image by image: the
/// accuracy drop D_jx (clean correct minus inverted correct, -1, 0 or 1) and the margin drop M_jx (clean
/// integer output margin minus inverted). Kept per neuron: sums of D and M, the number of images with D != 0
/// and the sum of M squared; per image: the sums over neurons of D and M. The importances are the means over
/// images; the second moments give their sampling noise (<see cref="LayerImportance"/>). Every path
/// (shortcut, re-run, naive) reduces to these integers, so equal totals give bit-identical importances, and
/// integer sums make the result independent of thread count and order.
/// </summary>
internal sealed class OutputScores
{
    private readonly CleanScores _clean;

    public OutputScores(int neurons, CleanScores clean)
    {
        _clean = clean;
        AccuracyDrop = new long[neurons];
        Changed = new long[neurons];
        MarginDrop = new long[neurons];
        MarginDropSquares = new long[neurons];
        ImageAccuracyDrop = new long[clean.Images];
        ImageMarginDrop = new long[clean.Images];
    }

    public long[] AccuracyDrop { get; }
    public long[] Changed { get; }
    public long[] MarginDrop { get; }
    public long[] MarginDropSquares { get; }
    public long[] ImageAccuracyDrop { get; }
    public long[] ImageMarginDrop { get; }

    /// <summary>Scores image <paramref name="image"/> with neuron <paramref name="neuron"/> inverted. An image whose output the inversion cannot change needs no call.</summary>
    public void Add(int neuron, int image, ReadOnlySpan<int> logits, int label)
    {
        var (top, margin) = Score(logits);
        int d = (_clean.Correct[image] ? 1 : 0) - (top == label ? 1 : 0);
        long m = _clean.Margin[image] - margin;
        if (d != 0)
        {
            AccuracyDrop[neuron] += d;
            Changed[neuron]++;
            ImageAccuracyDrop[image] += d;
        }
        if (m != 0)
        {
            MarginDrop[neuron] += m;
            MarginDropSquares[neuron] += m * m;
            ImageMarginDrop[image] += m;
        }
    }

    public void AddRange(OutputScores other)
    {
        for (int j = 0; j < AccuracyDrop.Length; j++)
        {
            AccuracyDrop[j] += other.AccuracyDrop[j];
            Changed[j] += other.Changed[j];
            MarginDrop[j] += other.MarginDrop[j];
            MarginDropSquares[j] += other.MarginDropSquares[j];
        }
        for (int x = 0; x < ImageAccuracyDrop.Length; x++)
        {
            ImageAccuracyDrop[x] += other.ImageAccuracyDrop[x];
            ImageMarginDrop[x] += other.ImageMarginDrop[x];
        }
    }

    /// <summary>
    /// Top-1 class (ties to the lowest index, as <c>InferenceResult.ArgMax</c>) and the margin to the runner-up,
    /// the largest logit among the other classes (0 on a tie; 0 with a single class).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Top, long Margin) Score(ReadOnlySpan<int> logits)
    {
        int top = 0, best = logits[0];
        long second = long.MinValue;
        for (int k = 1; k < logits.Length; k++)
        {
            int v = logits[k];
            if (v > best)
            {
                second = best;
                best = v;
                top = k;
            }
            else if (v > second) second = v;
        }
        return (top, logits.Length == 1 ? 0 : best - second);
    }

    /// <summary>Importances from the totals: accuracy and mean-margin drops against the unmodified model, with their sampling noise.</summary>
    public LayerImportance Finish(int block, float logitScale)
    {
        int neurons = AccuracyDrop.Length, images = _clean.Images;
        var acc = new double[neurons];
        var margin = new double[neurons];
        var accSquares = new double[neurons];
        var marginSquares = new double[neurons];
        for (int j = 0; j < neurons; j++)
        {
            acc[j] = (double)AccuracyDrop[j] / images;
            accSquares[j] = (double)Changed[j] / images;
            margin[j] = (double)MarginDrop[j] * logitScale / images;
            marginSquares[j] = (double)MarginDropSquares[j] * logitScale * logitScale / images;
        }
        var accPerImage = ImageAccuracyDrop.Select(s => (double)s / neurons).ToArray();
        var marginPerImage = ImageMarginDrop.Select(s => (double)s * logitScale / neurons).ToArray();
        return new LayerImportance(block, acc, margin,
            LayerImportance.PopulationVariance(acc), LayerImportance.CoefficientOfVariation(acc),
            LayerImportance.PopulationVariance(margin), LayerImportance.CoefficientOfVariation(margin),
            LayerImportance.SamplingBias(acc, accSquares, accPerImage), LayerImportance.SamplingBias(margin, marginSquares, marginPerImage));
    }
}
