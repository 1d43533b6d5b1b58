using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;

namespace HilBench.Metrics.Margins;

/// <summary>
/// The neuron-level margin metric NL: for every hidden block, neuron j and evaluation sample x,
/// the margin d_j(x) = |a_j(x) - T_j| between the integer pre-activation (after pooling) and the
/// threshold, normalised by the fan-in n_j, and the exact number of weight flips in the neuron's row
/// that changes its output (tie rule of <see cref="ThresholdLayer"/> included).
/// </summary>
/// <remarks>
/// Flip counts: with +-1 inputs every flip moves a by exactly 2, towards lower a for an agreeing term
/// (w_i x_i = +1) and towards higher a for a disagreeing one, so the count is ceil(need/2) if enough terms of
/// the right kind exist. With 8-bit pixels (the first block) flipping w_i moves a by -2 w_i x_i, and the
/// minimum count is a greedy over the largest contributions of the right sign. Both are exact for dense
/// blocks and for conv blocks without pooling. For conv blocks with pooling the count is computed on the
/// pooled value as if the neuron were a dense neuron at the window position that attains the maximum
/// (the smallest count when positions tie): shared weights also move the other positions, so this is an
/// approximation, reported as <see cref="FlipCountMethod.PooledConvApproximation"/>.
/// </remarks>
public static class NeuronLevelMetric
{
    /// <summary>Returned by the flip counts when no set of flips in the row changes the output.</summary>
    public const int Unreachable = int.MaxValue;

    /// <summary>
    /// Margin statistics of every hidden block, from a run with <c>captureLayers: true</c>.
    /// </summary>
    /// <param name="captured">The result of <c>InferenceEngine.Run(..., captureLayers: true)</c> (or the reference) for the evaluation images.</param>
    /// <param name="pixels">The same images; needed for the first block's flip counts (NaN without them).</param>
    /// <param name="bins">Histogram bins of d/n.</param>
    /// <param name="threads">Threads for the margins and flip counts (0 = all cores); results do not depend on it.</param>
    public static IReadOnlyList<LayerMargins> Compute(BnnModel model, InferenceResult captured, ImageSet? pixels = null, int bins = 50, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var layers = captured.Layers ?? throw new ArgumentException("the inference result has no layer activations; run with captureLayers: true", nameof(captured));
        if (layers.Count != model.Blocks.Count)
            throw new ArgumentException($"the inference result has {layers.Count} blocks, the model {model.Blocks.Count}", nameof(captured));
        if (pixels is not null && (pixels.Count != captured.Count || pixels.Shape.Size != model.InputShape.Size))
            throw new ArgumentException($"expected the {captured.Count} evaluation images of {model.InputShape}, got {pixels.Count} of {pixels.Shape}", nameof(pixels));
        if (threads <= 0) threads = Environment.ProcessorCount;

        var result = new List<LayerMargins>();
        foreach (var block in model.Blocks)
        {
            if (block.Threshold is null) continue;
            var act = layers[block.Index];
            if (act.Shape != block.OutputShape || act.Count != captured.Count)
                throw new ArgumentException($"block {block.Index}: captured activations do not match the model", nameof(captured));
            result.Add(ComputeBlock(block, captured, pixels, bins, threads));
        }
        return result;
    }

    private static LayerMargins ComputeBlock(BnnBlock block, InferenceResult captured, ImageSet? pixels, int bins, int threads)
    {
        var t = block.Threshold!;
        var act = captured.Layers![block.Index];
        int channels = block.OutputShape.Channels;
        int n = block.Linear.FanIn;
        var pre = act.PreActivations;

        // Chunks of whole activation rows (every channel once per row), counted in parallel and merged in chunk order.
        var thresholds = t.Thresholds;
        int rows = pre.Length / channels, chunks = Math.Clamp(rows / 4096, 1, 4 * threads);
        var parts = new (IntegerDistribution Margins, long[] PerNeuron)[chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, k =>
        {
            int r0 = (int)((long)rows * k / chunks), r1 = (int)((long)rows * (k + 1) / chunks);
            long max = 0;
            for (int r = r0; r < r1; r++)
                for (int c = 0; c < channels; c++) max = Math.Max(max, Math.Abs((long)pre[r * channels + c] - thresholds[c]));
            var part = new IntegerDistribution(max);
            var sums = new long[channels];
            for (int r = r0; r < r1; r++)
                for (int c = 0; c < channels; c++)
                {
                    long d = Math.Abs((long)pre[r * channels + c] - thresholds[c]);
                    part.Add(d);
                    sums[c] += d;
                }
            parts[k] = (part, sums);
        });
        var margins = new IntegerDistribution(parts.Max(p => p.Margins.Max));
        var perNeuron = new long[channels];
        foreach (var (part, sums) in parts)
        {
            margins.AddRange(part);
            for (int c = 0; c < channels; c++) perNeuron[c] += sums[c];
        }
        long perNeuronSamples = (long)act.Count * (act.Shape.Size / channels);
        var (edges, counts) = margins.Histogram(bins, n);

        var (flips, unreachable, method) = FlipCounts.Of(block, captured, pixels, threads);
        return new LayerMargins(
            block.Index, channels, n, margins.Count,
            Mean: margins.Sum / (double)margins.Count / n,
            Median: margins.Quantile(0.5) / n,
            Quantile5: margins.Quantile(0.05) / n,
            edges, counts,
            MeanFlipsToChange: flips?.Mean ?? double.NaN,
            MedianFlipsToChange: flips?.Quantile(0.5) ?? double.NaN,
            unreachable, method,
            perNeuron.Select(s => perNeuronSamples == 0 ? double.NaN : s / (double)perNeuronSamples / n).ToArray());
    }

    /// <summary>
    /// Flips to change a neuron with +-1 inputs: <paramref name="terms"/> valid inputs (the fan-in; fewer at
    /// a conv border), pre-activation <paramref name="preActivation"/>. Returns <see cref="Unreachable"/> when
    /// the row has too few terms of the kind that moves a the right way.
    /// </summary>
    public static int FlipsToChange(int preActivation, int threshold, bool ascending, int terms)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(terms);
        long a = preActivation;
        if (Math.Abs(a) > terms || ((a + terms) & 1) != 0)
            throw new ArgumentException($"a pre-activation of {terms} +-1 terms is in -{terms}..{terms} with the parity of {terms}, got {a}");
        var (down, need) = Requirement(a, threshold, ascending);
        long agreeing = (terms + a) / 2, available = down ? agreeing : terms - agreeing;
        long k = (need + 1) / 2;
        return k <= available ? (int)k : Unreachable;
    }

    /// <summary>
    /// Flips to change a neuron whose terms are arbitrary integers c_i = w_i x_i (e.g. +-1 weights times
    /// 8-bit pixels): flipping w_i moves a = sum c_i by -2 c_i, so the fewest flips take the largest
    /// contributions of the right sign first. Returns <see cref="Unreachable"/> when even all of them are not enough.
    /// </summary>
    public static int FlipsToChange(ReadOnlySpan<int> contributions, int threshold, bool ascending)
    {
        long a = 0;
        foreach (int c in contributions) a += c;
        var (down, need) = Requirement(a, threshold, ascending);
        var order = new int[contributions.Length];
        var negativeSizes = new long[contributions.Length];
        int m = 0;
        for (int i = 0; i < contributions.Length; i++)
        {
            if (contributions[i] == 0) continue;
            order[m] = i;
            negativeSizes[m++] = -Math.Abs((long)contributions[i]);
        }
        Array.Sort(negativeSizes, order, 0, m); // largest first
        return Greedy(new IntegerTerms(contributions), order.AsSpan(0, m), down, need);
    }

    /// <summary>The terms a neuron's pre-activation sums, as <see cref="Greedy"/> reads them.</summary>
    internal interface ITerms
    {
        /// <summary>|c_i|: flipping the weight of term i moves a by 2|c_i|.</summary>
        long Size(int i);

        /// <summary>Whether c_i &gt; 0, i.e. flipping its weight moves a down.</summary>
        bool Positive(int i);
    }

    private readonly ref struct IntegerTerms(ReadOnlySpan<int> contributions) : ITerms
    {
        private readonly ReadOnlySpan<int> _c = contributions;

        public long Size(int i) => Math.Abs((long)_c[i]);

        public bool Positive(int i) => _c[i] > 0;
    }

    /// <summary>
    /// The fewest flips that move a by at least <paramref name="need"/> downwards (<paramref name="down"/>) or upwards: walking
    /// <paramref name="order"/> (the terms of non-zero size, largest first), take each term whose flip moves a the right way (positive
    /// terms down, negative ones up) until the moves add up. <see cref="Unreachable"/> when all of them are not enough. Every
    /// flips-to-change count of terms other than +-1 (pixels) goes through here.
    /// </summary>
    internal static int Greedy<TTerms>(TTerms terms, ReadOnlySpan<int> order, bool down, long need) where TTerms : ITerms, allows ref struct
    {
        long moved = 0;
        int k = 0;
        foreach (int i in order)
        {
            if (terms.Positive(i) != down) continue;
            k++;
            moved += 2 * terms.Size(i);
            if (moved >= need) return k;
        }
        return Unreachable;
    }

    /// <summary>
    /// The smallest move of a that changes the output: downwards (a' &lt;= a - need) or upwards (a' &gt;= a + need).
    /// Ascending: on iff a &gt;= T, so on needs a' &lt;= T-1 and off needs a' &gt;= T. Descending: on iff a &lt;= T,
    /// so on needs a' &gt;= T+1 and off needs a' &lt;= T. The need is always at least 1. This is the one place the threshold's tie
    /// rule is written for the metrics and predictions (the flip conditions of <c>FlipCondition</c> and the importances' next-block
    /// test use it).
    /// </summary>
    internal static (bool Down, long Need) Requirement(long a, long threshold, bool ascending)
    {
        bool on = ascending ? a >= threshold : a <= threshold;
        if (ascending) return on ? (true, a - threshold + 1) : (false, threshold - a);
        return on ? (false, threshold + 1 - a) : (true, a - threshold);
    }
}
