using System.Numerics;
using HilBench.Bnn;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;

namespace HilBench.Metrics.Predictions;

/// <summary>Per-neuron probability that a block's output bit changes under weight errors, averaged over images.</summary>
/// <param name="Block">The model block.</param>
/// <param name="PerNeuron">For each neuron, the mean over the images of P(output differs from the error-free output).</param>
/// <param name="MeanFlipFraction">Mean of <paramref name="PerNeuron"/>: the expected fraction of the block's outputs that change.</param>
public sealed record LayerFlipPrediction(int Block, double[] PerNeuron, double MeanFlipFraction);

/// <summary>
/// Exact flip probabilities of a hidden dense block with binary (+-1) inputs under independent weight bit errors, and the
/// Monte-Carlo measurement to check them against. Only the block's own weights are corrupted and its inputs are the exact
/// (error-free) outputs of the block before, so the prediction is exact up to the 1e-15 truncation of the binomial pmfs.
/// </summary>
/// <remarks>
/// For neuron j and input x with n+ agreeing terms (w_i x_i = +1) and n- disagreeing, a flipped weight flips its term, so
/// a' = a - 2X + 2Y with X the flipped agreeing and Y the flipped disagreeing terms. Symmetric rate p: X ~ Bin(n+, p),
/// Y ~ Bin(n-, p), and since n+ = (n + a)/2 depends only on a, the distribution of D = Y - X is tabulated once per n+ seen in the
/// layer and looked up per (neuron, image). Asymmetric rates split the terms by stored weight bit (a stored 1 flips with p10, a
/// stored 0 with p01), giving four binomials whose sizes need popcount(w AND x) per (neuron, image); their truncated pmfs are
/// convolved exactly per (neuron, image), skipped when the truncated supports already decide the answer. The output changes
/// when a + 2D crosses the threshold under ThresholdLayer's tie rule (ascending o = +1 iff a &gt;= tau, descending iff a &lt;= tau).
/// Not supported (NotSupportedException): block 0 (8-bit pixel inputs: the change is a weighted sum of pixels, not a difference
/// of binomials; <see cref="AccuracyPrediction"/> uses a normal approximation there), conv blocks (zero padding gives border
/// positions fewer terms and pooling takes a max over correlated positions) and the output block (no threshold, no output bits).
/// </remarks>
public static class FlipPrediction
{
    /// <summary>
    /// Exact P(flip) per neuron of hidden dense block <paramref name="block"/> (&gt;= 1) under <paramref name="errors"/> in that
    /// block's weights, averaged over the first <paramref name="maxImages"/> images of <paramref name="captured"/> (a
    /// <c>Run(captureLayers: true)</c> of the error-free model). Symmetric errors cost a table look-up per (neuron, image);
    /// asymmetric ones a convolution of four binomials per (neuron, image) whose outcome is not already decided by the supports,
    /// so pass fewer images there for large layers.
    /// </summary>
    public static LayerFlipPrediction Predict(BnnModel model, InferenceResult captured, int block, UniformBitErrors errors, int maxImages = int.MaxValue) =>
        Predict(model, captured, block, errors, maxImages, forceGeneral: false);

    /// <param name="forceGeneral">Use the four-binomial path even for symmetric rates (tests check the two paths agree).</param>
    internal static LayerFlipPrediction Predict(BnnModel model, InferenceResult captured, int block, UniformBitErrors errors, int maxImages, bool forceGeneral)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var layer = HiddenDense(model, captured, block);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxImages);
        int images = Math.Min(captured.Count, maxImages);
        var w = layer.Weights;
        int neurons = w.Rows, n = w.Columns;
        var threshold = model.Blocks[block].Threshold!;
        int[] pre = captured.Layers![block].PreActivations;
        var per = new double[neurons];
        if (images == 0) return new LayerFlipPrediction(block, per, 0);

        if (errors.IsSymmetric && !forceGeneral)
        {
            // One table per n+ = (n + a) / 2 that occurs in the layer.
            var tables = new Pmf?[n + 1];
            for (long i = 0, end = (long)images * neurons; i < end; i++)
            {
                int a = pre[i];
                if (((a + n) & 1) != 0 || a < -n || a > n)
                    throw new ArgumentException($"block {block}: pre-activation {a} cannot come from {n} +-1 terms; was 'captured' run on this model?");
                int plus = (n + a) / 2;
                tables[plus] ??= Pmf.FlipChange(plus, n - plus, errors.P01);
            }
            ForNeuronGroups(neurons, (j0, j1) =>
            {
                for (int m = 0; m < images; m++)
                {
                    int row = m * neurons;
                    for (int j = j0; j < j1; j++)
                    {
                        int a = pre[row + j];
                        per[j] += tables[(n + a) / 2]!.Probability(FlipCondition.Of(a, threshold.Thresholds[j], threshold.Ascending[j]));
                    }
                }
            });
        }
        else
        {
            var inputs = captured.Layers[block - 1].Outputs!;
            var general = new GeneralRates(n, errors.P01, errors.P10);
            var inputOnes = new int[images];
            for (int m = 0; m < images; m++) inputOnes[m] = PopCount(inputs.Row(m));
            ForNeuronGroups(neurons, (j0, j1) =>
            {
                var scratch = new GeneralRates.Scratch(n);
                for (int j = j0; j < j1; j++)
                {
                    var wRow = w.Row(j);
                    int weightOnes = PopCount(wRow);
                    var t = threshold;
                    for (int m = 0; m < images; m++)
                    {
                        int both = AndCount(wRow, inputs.Row(m));
                        int a = n - 2 * (weightOnes + inputOnes[m] - 2 * both); // n - 2 popcount(w XOR x)
                        per[j] += general.Probability(weightOnes, inputOnes[m], both, FlipCondition.Of(a, t.Thresholds[j], t.Ascending[j]), scratch);
                    }
                }
            });
        }
        for (int j = 0; j < neurons; j++) per[j] /= images;
        return new LayerFlipPrediction(block, per, per.Average());
    }

    /// <summary>
    /// Measured flip fraction per neuron: <paramref name="patterns"/> times, corrupt only block <paramref name="block"/>'s weights
    /// (<c>errors.Inject</c> with <c>Randomness.Derive(seed, k)</c> for pattern k), recompute the block's outputs from the exact
    /// inputs <c>captured.Layers[block - 1].Outputs</c> and count, per neuron, the outputs that differ from the captured ones over
    /// all images of <paramref name="captured"/>. The same blocks are supported as by <see cref="Predict(BnnModel, InferenceResult, int, UniformBitErrors, int)"/>.
    /// Cost: at most patterns x neurons x images x ceil(n / 64) XOR-popcounts; pairs whose margin needs more sign changes than the
    /// row has flipped weights are skipped exactly.
    /// </summary>
    public static LayerFlipPrediction Measure(BnnModel model, InferenceResult captured, int block, UniformBitErrors errors, int patterns, int seed)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var layer = HiddenDense(model, captured, block);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patterns);
        var clean = layer.Weights;
        int neurons = clean.Rows, n = clean.Columns, images = captured.Count, words = clean.WordsPerRow;
        var threshold = model.Blocks[block].Threshold!;
        var inputs = captured.Layers![block - 1].Outputs!;
        var outputs = captured.Layers[block].Outputs!;
        // A pattern that flips f weights of a row moves its sums by at most 2f (|D| <= f), so an output whose margin needs more
        // cannot change: per (neuron, image) the smallest |D| that flips it, neuron-major, lets most pairs skip the popcount.
        int[] pre = captured.Layers[block].PreActivations;
        var need = new int[(long)neurons * images];
        for (int m = 0; m < images; m++)
            for (int j = 0; j < neurons; j++)
            {
                var c = FlipCondition.Of(pre[(long)m * neurons + j], threshold.Thresholds[j], threshold.Ascending[j]);
                need[(long)j * images + m] = (int)Math.Min(int.MaxValue, c.Upper ? c.K : -c.K);
            }
        // Patterns run in parallel, each on its own copy of the weights; counts are integers, so their sum does not depend on
        // the order the workers finish in.
        var counts = new long[neurons];
        Parallel.For(0, patterns, () => (Weights: clean.Clone(), Counts: new long[neurons]), (k, _, local) =>
        {
            var corrupted = local.Weights;
            Array.Copy(clean.Words, corrupted.Words, clean.Words.Length);
            errors.Inject(corrupted, block, Randomness.Derive(seed, k));
            for (int j = 0; j < neurons; j++)
            {
                var row = corrupted.Words.AsSpan(j * words, words);
                int flipped = XorCount(row, clean.Words.AsSpan(j * words, words));
                if (flipped == 0) continue;
                var needed = need.AsSpan((int)((long)j * images), images);
                long changed = 0;
                for (int m = 0; m < images; m++)
                {
                    if (needed[m] > flipped) continue;
                    int a = n - 2 * XorCount(row, inputs.Row(m));
                    if (threshold.Output(j, a) != outputs[m, j]) changed++;
                }
                local.Counts[j] += changed;
            }
            return local;
        }, local =>
        {
            lock (counts)
                for (int j = 0; j < neurons; j++) counts[j] += local.Counts[j];
        });
        var per = new double[neurons];
        double total = (double)patterns * Math.Max(images, 1);
        for (int j = 0; j < neurons; j++) per[j] = counts[j] / total;
        return new LayerFlipPrediction(block, per, per.Average());
    }

    /// <summary>The block's dense weight layer, after checking that the block and the captured activations are supported.</summary>
    internal static BinaryDense HiddenDense(BnnModel model, InferenceResult captured, int block)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(captured);
        if (block < 0 || block >= model.Blocks.Count)
            throw new ArgumentOutOfRangeException(nameof(block), block, $"the model has blocks 0..{model.Blocks.Count - 1}");
        var b = model.Blocks[block];
        if (block == 0)
            throw new NotSupportedException("block 0 reads 8-bit pixels: its exact flip distribution is not a difference of binomials (AccuracyPrediction uses a normal approximation there)");
        if (b.IsOutput) throw new NotSupportedException($"block {block} is the output block: it has no threshold and no output bits to flip");
        if (b.Linear is not BinaryDense dense || b.Pool is not null)
            throw new NotSupportedException($"block {block} is a {b.Linear.Kind} block: exact flip probabilities cover dense blocks only (conv padding and pooling break the two-binomial form)");
        if (captured.Layers is null) throw new ArgumentException("'captured' has no layer activations: run the engine with captureLayers: true");
        if (captured.Layers[block].Shape.Size != dense.Outputs || captured.Layers[block - 1].Outputs?.Columns != dense.FanIn)
            throw new ArgumentException($"'captured' does not fit block {block} of this model");
        return dense;
    }

    /// <summary>Runs <paramref name="body"/> over groups of 64 neurons in parallel; each neuron belongs to one group, so per-neuron sums keep their order.</summary>
    internal static void ForNeuronGroups(int neurons, Action<int, int> body)
    {
        const int group = 64;
        int groups = (neurons + group - 1) / group;
        Parallel.For(0, groups, g => body(g * group, Math.Min(neurons, (g + 1) * group)));
    }

    internal static int PopCount(ReadOnlySpan<ulong> words)
    {
        int c = 0;
        foreach (ulong x in words) c += BitOperations.PopCount(x);
        return c;
    }

    internal static int AndCount(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        int c = 0;
        for (int i = 0; i < a.Length; i++) c += BitOperations.PopCount(a[i] & b[i]);
        return c;
    }

    internal static int XorCount(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        int c = 0;
        for (int i = 0; i < a.Length; i++) c += BitOperations.PopCount(a[i] ^ b[i]);
        return c;
    }
}

/// <summary>
/// Exact flip probabilities with rates by stored weight bit: a stored 1 (weight +1) flips with p10, a stored 0 with p01. For a
/// neuron with <c>w1</c> weights +1, an input with <c>x1</c> inputs +1 and <c>both</c> = popcount(w AND x), the agreeing terms are
/// both (rate p10) and n - w1 - x1 + both (rate p01); the disagreeing ones w1 - both (p10) and x1 - both (p01).
/// </summary>
internal sealed class GeneralRates
{
    private readonly int _n;
    private readonly (int Offset, double[] Values)[] _p10;
    private readonly (int Offset, double[] Values)[] _p01;

    public GeneralRates(int n, double p01, double p10)
    {
        _n = n;
        _p10 = new (int, double[])[n + 1];
        _p01 = new (int, double[])[n + 1];
        for (int c = 0; c <= n; c++)
        {
            _p10[c] = Pmf.BinomialValues(c, p10);
            _p01[c] = Pmf.BinomialValues(c, p01);
        }
    }

    /// <summary>Per-thread buffers for the convolutions.</summary>
    public sealed class Scratch(int n)
    {
        public double[] X { get; } = new double[n + 2];
        public double[] Y { get; } = new double[n + 2];
    }

    public double Probability(int w1, int x1, int both, FlipCondition condition, Scratch s)
    {
        int agree1 = both, agree0 = _n - w1 - x1 + both, dis1 = w1 - both, dis0 = x1 - both;
        var (xa, xaV) = _p10[agree1];
        var (xb, xbV) = _p01[agree0];
        var (ya, yaV) = _p10[dis1];
        var (yb, ybV) = _p01[dis0];
        int xLo = xa + xb, xHi = xLo + xaV.Length + xbV.Length - 2;
        int yLo = ya + yb, yHi = yLo + yaV.Length + ybV.Length - 2;
        long dLo = yLo - xHi, dHi = yHi - xLo;
        // Decided by the truncated supports (the mass outside is below 1e-15 per binomial).
        if (condition.Upper ? condition.K > dHi : condition.K < dLo) return 0;
        if (condition.Upper ? condition.K <= dLo : condition.K >= dHi) return 1;

        int xLen = Convolve(xaV, xbV, s.X), yLen = Convolve(yaV, ybV, s.Y);
        var y = s.Y.AsSpan(0, yLen);
        // Turn Y into a tail: Y[i] = P(Y >= yLo + i) for Upper, P(Y <= yLo + i) otherwise.
        if (condition.Upper)
            for (int i = yLen - 2; i >= 0; i--) y[i] += y[i + 1];
        else
            for (int i = 1; i < yLen; i++) y[i] += y[i - 1];
        double p = 0;
        for (int i = 0; i < xLen; i++)
        {
            // D = Y - X >= K  <=>  Y >= K + X;  D <= K  <=>  Y <= K + X.
            long yAt = condition.K + xLo + i - yLo;
            double tail = condition.Upper
                ? (yAt <= 0 ? y[0] : yAt >= yLen ? 0 : y[(int)yAt])
                : (yAt < 0 ? 0 : yAt >= yLen ? y[yLen - 1] : y[(int)yAt]);
            p += s.X[i] * tail;
        }
        return p;
    }

    private static int Convolve(double[] a, double[] b, double[] into)
    {
        int len = a.Length + b.Length - 1;
        Array.Clear(into, 0, len);
        for (int i = 0; i < a.Length; i++)
        {
            double pa = a[i];
            for (int j = 0; j < b.Length; j++) into[i + j] += pa * b[j];
        }
        return len;
    }
}
