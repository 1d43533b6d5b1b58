using System.Numerics;
using System.Runtime.InteropServices;
using HilBench.Bnn;
using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Training;

namespace HilBench.Metrics.Predictions;

/// <summary>What the layer-by-layer propagation predicts for a model under weight errors.</summary>
/// <param name="Accuracy">Predicted accuracy: mean over the images of P(correct).</param>
/// <param name="CorrectProbability">P(correct) per image.</param>
/// <param name="MeanFlipFraction">Per hidden block (index = block), the predicted mean probability that an output bit differs
/// from the error-free one, over neurons and images, and for conv blocks over output positions (after pooling), including the
/// effect of flipped inputs from the blocks before.</param>
public sealed record AccuracyPropagation(double Accuracy, double[] CorrectProbability, double[] MeanFlipFraction);

/// <summary>
/// Predicts accuracy under independent weight bit errors without Monte-Carlo over error patterns, by propagating per-(neuron,
/// image) flip probabilities block by block from the error-free activations. Dense blocks and 3x3 conv blocks with or without
/// 2x2 max pooling (the MLPs and VGG3); the output block must be dense.
/// </summary>
/// <remarks>
/// Approximations, in order:
/// <list type="number">
/// <item>Dense block 0 (8-bit pixels x): a' = a + 2D with D = -sum over flipped weights of w_i x_i. Its mean and variance are exact:
/// symmetric p gives E[D] = -p a and Var[D] = p(1-p) sum x_i^2; asymmetric rates give E[D] = -(p10 S+ - p01 S-) with
/// S+- = (sum x_i +- a)/2, and Var[D] = p10(1-p10) sum_{w=+1} x_i^2 + p01(1-p01) sum_{w=-1} x_i^2. D is taken as normal, with a
/// continuity correction of 1/2, and the flip probability follows from the threshold and its tie rule.</item>
/// <item>Hidden dense blocks (+-1 inputs): every input bit i is assumed to flip independently of the others with the probability
/// q_i predicted for it (per image), independently of the weight errors. Term w_i x_i then changes sign with
/// r_i = p_w (1 - q_i) + q_i (1 - p_w) (p_w = p10 for a +1 weight, p01 for a -1 weight). D = sum over disagreeing terms that flip
/// minus agreeing terms that flip is a Poisson-binomial; its exact mean -sum_i w_i x_i r_i and variance sum_i r_i (1 - r_i) are
/// computed per (neuron, image) (a float matrix product over the inputs) and D is taken as normal with continuity correction.
/// With all q_i = 0 this is the normal approximation of <see cref="FlipPrediction"/>'s exact distribution. Ignored: the
/// correlation of flips between neurons of a block (they share flipped inputs), which the independence assumption drops.</item>
/// <item>Output block: the change vector D of the logits (z' = z + 2D) is taken as jointly normal with its exact mean and
/// covariance under the same independence assumptions (logits share flipped inputs, so their changes are correlated:
/// Cov(D_c, D_c') = sum_i w_ci w_c'i (P(both terms flip) - r_ci r_c'i)). P(correct) is the probability that the label's logit
/// stays the argmax (ties to the lowest index, with continuity correction), computed from the normal tails when their
/// Bonferroni sum is below 1e-6, otherwise by integrating the normal with 256 antithetic samples drawn from a fixed per-image
/// stream (deterministic; the sampling error averages out over images).</item>
/// <item>Conv blocks (3x3, stride 1, zero padding, channels last) are dense blocks applied per output position over the position's
/// in-map taps (the im2col view): a border position has fewer terms, padded taps contribute nothing. The engine max-pools the
/// integer pre-activations before the threshold, so the pooled output is high (+1 ascending, -1 descending) iff some member
/// position of its 2x2 window alone is: with tau = T (ascending) or T + 1 (descending), iff max a &gt;= tau. Without pooling a
/// position is a window of its own. The pre-pool pre-activations are recomputed exactly and checked against the captured pooled
/// ones (activations captured from another model are refused).</item>
/// <item>Conv block 0 (pixels): its inputs are exact, so the pooled output of a window and channel depends only on which of that
/// channel's n weights flip, and only on its live weights, those through which some member reads a non-zero pixel. A set S of
/// flipped live weights has probability z prod_{t in S} rho_t with z = prod_t (1 - p_t), rho_t = p_t / (1 - p_t). Every set of
/// one or two flips is enumerated exactly: it moves member u's pre-activation by -2 sum_{t in S} w_t x_ut, and counts if the
/// pooled output changes (correlations between members and the tie rule included). The remaining mass
/// rest = P(|S| &gt;= 3) = 1 - z (1 + e1 + e2) (e1, e2 the elementary symmetric sums of the rho_t) is approximated: member u's D
/// conditioned on |S| &gt;= 3 is normal, with its exact conditional mean and variance (the unconditional moments minus the
/// enumerated part, over rest) and continuity correction, and the members are pooled as if independent. rest below 1e-9 is
/// dropped; the conditional moments are formed in single precision, so for rest below about 1e-6 they hold only a few digits,
/// in a term weighted by rest.</item>
/// <item>Hidden conv blocks (+-1 inputs): per pre-pool position the hidden dense approximation over its in-map taps (the input
/// bits flip independently with their predicted q; exact mean and variance of D; normal with continuity correction) gives the
/// probability that the position's own thresholded bit flips; the window's members are then pooled as if independent: a high
/// window flips iff every high member flips and no other does, a low one iff any member flips. Ignored: the correlation of the
/// members' changes (they share the channel's weights and overlapping inputs).</item>
/// <item>The hidden blocks evaluate their normal tails in single precision, SIMD (over channels in conv blocks, over the
/// image's neurons in dense ones), with a Chebyshev erfc (relative error below 1e-5 in single precision); the output block's
/// tails stay in double precision.</item>
/// </list>
/// Predicted accuracy = mean over images of P(correct). Its error against Monte-Carlo is measured and reported, not assumed.
/// </remarks>
public static partial class AccuracyPrediction
{
    private const int Chunk = 128;
    private const int Samples = 256;
    private const int SamplingSeed = 0x0acc;

    /// <summary>
    /// Predicted accuracy of <paramref name="model"/> on <paramref name="data"/> under <paramref name="errors"/> in every block's
    /// weights; <paramref name="captured"/> is the error-free <c>Run(captureLayers: true)</c> on the same data. Deterministic for
    /// every thread count (0 = all cores).
    /// </summary>
    public static double Predict(BnnModel model, ImageSet data, InferenceResult captured, UniformBitErrors errors, int threads = 0) =>
        Propagate(model, data, captured, errors, threads).Accuracy;

    /// <summary><see cref="Predict"/> with what it is made of: P(correct) per image and the predicted flip fraction per hidden block.</summary>
    public static AccuracyPropagation Propagate(BnnModel model, ImageSet data, InferenceResult captured, UniformBitErrors errors, int threads = 0) =>
        Propagate(model, data, captured, errors, threads, forceGeneral: false);

    /// <param name="forceGeneral">Use the per-weight-sign formulas even for symmetric rates (tests check the two agree).</param>
    internal static AccuracyPropagation Propagate(BnnModel model, ImageSet data, InferenceResult captured, UniformBitErrors errors, int threads, bool forceGeneral)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentNullException.ThrowIfNull(errors);
        if (captured.Layers is null) throw new ArgumentException("'captured' has no layer activations: run the engine with captureLayers: true");
        if (captured.Count != data.Count) throw new ArgumentException($"'captured' holds {captured.Count} images but the data {data.Count}");
        if (data.Shape != model.InputShape) throw new ArgumentException($"the model reads {model.InputShape} images but the data has {data.Shape}");
        if (model.Blocks.Count < 2) throw new NotSupportedException("the propagation needs a hidden block before the output block");
        foreach (var b in model.Blocks)
        {
            if (b.Linear is not (BinaryDense or BinaryConv2d))
                throw new NotSupportedException($"block {b.Index} is a {b.Linear.Kind} block: the accuracy propagation covers dense and 3x3 conv blocks");
            if (b.IsOutput && (b.Linear is not BinaryDense || b.Pool is not null))
                throw new NotSupportedException($"the output block is a {b.Linear.Kind} block: the accuracy propagation needs a dense output block without pooling");
        }
        if (threads <= 0) threads = Environment.ProcessorCount;

        var ctx = new Context(model, data, captured, errors, forceGeneral);
        int count = data.Count, chunks = (count + Chunk - 1) / Chunk;
        var correct = new double[count];
        var flipSums = new double[chunks, model.Blocks.Count];
        void PropagateChunk(int c)
        {
            int m0 = c * Chunk, m1 = Math.Min(count, m0 + Chunk);
            float[]? q = null;
            foreach (var block in model.Blocks)
            {
                if (block.IsOutput)
                {
                    ctx.Output(block, m0, m1, q!, correct);
                    break;
                }
                q = block.Linear is BinaryConv2d conv ? ctx.ConvBlock(block, conv, m0, m1, q)
                    : block.ReadsPixels ? ctx.PixelBlock(block, m0, m1)
                    : ctx.HiddenBlock(block, m0, m1, q!);
                double s = 0;
                foreach (float v in q) s += v;
                flipSums[c, block.Index] = s;
            }
        }

        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, PropagateChunk);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0 && e.InnerExceptions[0] is ArgumentException)
        {
            // Conv blocks find activations captured from another model only while they run; report that as the argument error it is.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        var flips = new double[model.Blocks.Count - 1];
        for (int b = 0; b < flips.Length; b++)
        {
            double s = 0;
            for (int c = 0; c < chunks; c++) s += flipSums[c, b];
            flips[b] = count == 0 ? 0 : s / ((double)count * model.Blocks[b].OutputShape.Size);
        }
        return new AccuracyPropagation(count == 0 ? 0 : correct.Average(), correct, flips);
    }

    private sealed partial class Context
    {
        private readonly BnnModel _model;
        private readonly ImageSet _data;
        private readonly InferenceResult _captured;
        private readonly double _p01, _p10;
        private readonly bool _symmetric;
        /// <summary>Per block, the weights as a float 0/1 matrix [out][in] (1 for a +1 weight); null where not needed.</summary>
        private readonly float[]?[] _ones;
        private readonly ConvGeometry?[] _geometry;
        private readonly System.Collections.Concurrent.ConcurrentBag<ConvBuffers>[] _convBuffers;

        public Context(BnnModel model, ImageSet data, InferenceResult captured, UniformBitErrors errors, bool forceGeneral)
        {
            _model = model;
            _data = data;
            _captured = captured;
            _p01 = errors.P01;
            _p10 = errors.P10;
            _symmetric = errors.IsSymmetric && !forceGeneral;
            _ones = model.Blocks.Select(b => b.IsOutput || (b.ReadsPixels && (_symmetric || b.Linear is BinaryConv2d)) ? null : OnesOf(b.Linear.Weights)).ToArray();
            _geometry = model.Blocks.Select(b => b.Linear is BinaryConv2d conv ? new ConvGeometry(b, conv) : null).ToArray();
            _convBuffers = model.Blocks.Select(_ => new System.Collections.Concurrent.ConcurrentBag<ConvBuffers>()).ToArray();
        }

        private static float[] OnesOf(Bnn.Tensors.BitMatrix w)
        {
            var f = new float[(long)w.Rows * w.Columns];
            for (int r = 0; r < w.Rows; r++)
                for (int i = 0; i < w.Columns; i++)
                    if (w[r, i]) f[(long)r * w.Columns + i] = 1;
            return f;
        }

        /// <summary>Flip probabilities [image][neuron] of the pixel block for images m0..m1.</summary>
        public float[] PixelBlock(BnnBlock block, int m0, int m1)
        {
            int c = m1 - m0, nIn = block.Linear.FanIn, nOut = block.Linear.Outputs;
            var t = block.Threshold!;
            int[] pre = _captured.Layers![block.Index].PreActivations;
            var sum = new double[c];
            var sum2 = new double[c];
            for (int m = 0; m < c; m++)
            {
                var x = _data.Image(m0 + m);
                double s = 0, s2 = 0;
                foreach (byte v in x)
                {
                    s += v;
                    s2 += (double)v * v;
                }
                sum[m] = s;
                sum2[m] = s2;
            }
            float[]? plusSquares = null; // [neuron][image]: sum over +1 weights of x_i^2
            if (!_symmetric)
            {
                var squares = new float[c * nIn];
                for (int m = 0; m < c; m++)
                {
                    var x = _data.Image(m0 + m);
                    for (int i = 0; i < nIn; i++) squares[m * nIn + i] = (float)x[i] * x[i];
                }
                plusSquares = new float[nOut * c];
                Gemm.Multiply(Transpose.B, nOut, c, nIn, _ones[block.Index], squares, plusSquares, threads: 1);
            }
            var q = new float[c * nOut];
            double p = _p01;
            for (int m = 0; m < c; m++)
                for (int j = 0; j < nOut; j++)
                {
                    int a = pre[(m0 + m) * nOut + j];
                    double mean, variance;
                    if (_symmetric)
                    {
                        mean = -p * a;
                        variance = p * (1 - p) * sum2[m];
                    }
                    else
                    {
                        double plus = (sum[m] + a) / 2, minus = (sum[m] - a) / 2, q2 = plusSquares![j * c + m];
                        mean = -(_p10 * plus - _p01 * minus);
                        variance = _p10 * (1 - _p10) * q2 + _p01 * (1 - _p01) * Math.Max(0, sum2[m] - q2);
                    }
                    q[m * nOut + j] = (float)FlipCondition.Of(a, t.Thresholds[j], t.Ascending[j]).TailArgument(mean, Math.Sqrt(variance));
                }
            NormalTail.Upper(q);
            return q;
        }

        /// <summary>Flip probabilities [image][neuron] of a hidden binary block, given its inputs' flip probabilities.</summary>
        public float[] HiddenBlock(BnnBlock block, int m0, int m1, float[] qIn)
        {
            int c = m1 - m0, nIn = block.Linear.FanIn, nOut = block.Linear.Outputs;
            var t = block.Threshold!;
            var inputs = _captured.Layers![block.Index - 1].Outputs!;
            int[] pre = _captured.Layers[block.Index].PreActivations;
            int cols = _symmetric ? 1 : 2;
            var v = new float[c * cols * nIn];
            var constMean = new double[c];
            var constVar = new double[c];
            for (int m = 0; m < c; m++)
            {
                var row = inputs.Row(m0 + m);
                for (int i = 0; i < nIn; i++)
                {
                    double x = (row[i >> 6] >> (i & 63) & 1) != 0 ? 1 : -1, qi = qIn[m * nIn + i];
                    if (_symmetric)
                    {
                        double r = _p01 + qi * (1 - 2 * _p01);
                        v[m * nIn + i] = (float)(x * qi);
                        constMean[m] += x * qi; // sum_i x_i q_i, to turn the 0/1 product into a +-1 one
                        constVar[m] += r * (1 - r);
                    }
                    else
                    {
                        double r1 = _p10 + qi * (1 - 2 * _p10), r0 = _p01 + qi * (1 - 2 * _p01);
                        v[(m * 2) * nIn + i] = (float)(x * (r1 + r0));
                        v[(m * 2 + 1) * nIn + i] = (float)(r1 * (1 - r1) - r0 * (1 - r0));
                        constMean[m] += x * r0;
                        constVar[m] += r0 * (1 - r0);
                    }
                }
            }
            var g = new float[nOut * c * cols];
            Gemm.Multiply(Transpose.B, nOut, c * cols, nIn, _ones[block.Index], v, g, threads: 1);
            var q = new float[c * nOut];
            double p = _p01;
            for (int m = 0; m < c; m++)
                for (int j = 0; j < nOut; j++)
                {
                    int a = pre[(m0 + m) * nOut + j];
                    double mean, variance;
                    if (_symmetric)
                    {
                        double wxq = 2.0 * g[j * c + m] - constMean[m]; // sum_i w_ji x_i q_i
                        mean = -(p * a + (1 - 2 * p) * wxq);
                        variance = constVar[m];
                    }
                    else
                    {
                        mean = -(g[j * c * 2 + 2 * m] - constMean[m]);
                        variance = Math.Max(0, g[j * c * 2 + 2 * m + 1] + constVar[m]);
                    }
                    q[m * nOut + j] = (float)FlipCondition.Of(a, t.Thresholds[j], t.Ascending[j]).TailArgument(mean, Math.Sqrt(variance));
                }
            NormalTail.Upper(q);
            return q;
        }

        /// <summary>
        /// Indicator vectors of the output block, built once: per class c the +1 weights (B_c) and the -1 weights (1 - B_c); per
        /// pair a &lt; b the inputs where both weights are +1, both -1, or they differ.
        /// </summary>
        private OutputVectors? _outputVectors;

        private sealed class OutputVectors(float[][] plus, float[][] minus, float[][] bothPlus, float[][] bothMinus, float[][] differ)
        {
            public float[][] Plus { get; } = plus;
            public float[][] Minus { get; } = minus;
            public float[][] BothPlus { get; } = bothPlus;
            public float[][] BothMinus { get; } = bothMinus;
            public float[][] Differ { get; } = differ;
        }

        private OutputVectors VectorsOf(BnnBlock block)
        {
            var cached = Volatile.Read(ref _outputVectors);
            if (cached is not null) return cached;
            var w = block.Linear.Weights;
            int k = w.Rows, n = w.Columns;
            var plus = new float[k][];
            var minus = new float[k][];
            for (int c = 0; c < k; c++)
            {
                plus[c] = new float[n];
                minus[c] = new float[n];
                for (int i = 0; i < n; i++) (w[c, i] ? plus[c] : minus[c])[i] = 1;
            }
            int pairs = k * (k - 1) / 2;
            var bothPlus = new float[pairs][];
            var bothMinus = new float[pairs][];
            var differ = new float[pairs][];
            for (int a = 0, pair = 0; a < k; a++)
                for (int b = a + 1; b < k; b++, pair++)
                {
                    bothPlus[pair] = new float[n];
                    bothMinus[pair] = new float[n];
                    differ[pair] = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        bool wa = w[a, i], wb = w[b, i];
                        (wa != wb ? differ[pair] : wa ? bothPlus[pair] : bothMinus[pair])[i] = 1;
                    }
                }
            var made = new OutputVectors(plus, minus, bothPlus, bothMinus, differ);
            return Interlocked.CompareExchange(ref _outputVectors, made, null) ?? made;
        }

        /// <summary>P(correct) for images m0..m1 from the joint normal of the logit changes.</summary>
        public void Output(BnnBlock block, int m0, int m1, float[] qIn, double[] correct)
        {
            int c = m1 - m0, nIn = block.Linear.FanIn, k = block.Linear.Outputs;
            var vectors = VectorsOf(block);
            var inputs = _captured.Layers![block.Index - 1].Outputs!;
            var mean = new double[k];
            var cov = new double[k * k];
            var chol = new double[k * k];
            // Per input i of one image: x r1 and x r0 (for the mean), r (1 - r) by weight sign (variances), and the
            // covariance of two terms' sign changes for weight signs (+,+), (-,-) and (+,-).
            var xr1 = new float[nIn];
            var xr0 = new float[nIn];
            var v1 = new float[nIn];
            var v0 = new float[nIn];
            var k11 = new float[nIn];
            var k00 = new float[nIn];
            var k10 = new float[nIn];
            double p1 = _p10, p0 = _p01;
            for (int m = 0; m < c; m++)
            {
                var row = inputs.Row(m0 + m);
                for (int i = 0; i < nIn; i++)
                {
                    double x = (row[i >> 6] >> (i & 63) & 1) != 0 ? 1 : -1, qi = qIn[m * nIn + i];
                    double r1 = p1 + qi * (1 - 2 * p1), r0 = p0 + qi * (1 - 2 * p0);
                    xr1[i] = (float)(x * r1);
                    xr0[i] = (float)(x * r0);
                    v1[i] = (float)(r1 * (1 - r1));
                    v0[i] = (float)(r0 * (1 - r0));
                    // Both terms change sign: the input flips and neither weight does, or it stays and both weights flip.
                    k11[i] = (float)(qi * (1 - p1) * (1 - p1) + (1 - qi) * p1 * p1 - r1 * r1);
                    k00[i] = (float)(qi * (1 - p0) * (1 - p0) + (1 - qi) * p0 * p0 - r0 * r0);
                    k10[i] = (float)(qi * (1 - p1) * (1 - p0) + (1 - qi) * p1 * p0 - r1 * r0);
                }
                for (int a = 0; a < k; a++)
                {
                    // E[D_a] = -sum_i w_ai x_i r_ai
                    mean[a] = -(Dot(vectors.Plus[a], xr1) - Dot(vectors.Minus[a], xr0));
                    cov[a * k + a] = Dot(vectors.Plus[a], v1) + Dot(vectors.Minus[a], v0);
                }
                for (int a = 0, pair = 0; a < k; a++)
                    for (int b = a + 1; b < k; b++, pair++)
                    {
                        // The terms' product w_a x w_b x = w_a w_b: +1 where the weights agree, -1 where they differ.
                        double s = Dot(vectors.BothPlus[pair], k11) + Dot(vectors.BothMinus[pair], k00) - Dot(vectors.Differ[pair], k10);
                        cov[a * k + b] = cov[b * k + a] = s;
                    }
                int image = m0 + m;
                correct[image] = CorrectProbability(_captured.LogitsOf(image), _data.Labels[image], mean, cov, chol, image);
            }
        }

        private static double Dot(float[] a, float[] b)
        {
            var va = MemoryMarshal.Cast<float, Vector<float>>(a.AsSpan());
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b.AsSpan());
            var acc = Vector<float>.Zero;
            for (int i = 0; i < va.Length; i++) acc += va[i] * vb[i];
            double s = Vector.Sum(acc);
            for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += a[i] * b[i];
            return s;
        }
    }

    /// <summary>
    /// P(argmax(z + 2D) = label) for D ~ N(mean, cov), with ties to the lowest index and a continuity correction: D_y - D_c is an
    /// integer in the exact model, and label y beats class c iff D_y - D_c &gt;= K_c, read as &gt; K_c - 1/2.
    /// </summary>
    internal static double CorrectProbability(ReadOnlySpan<int> logits, int label, double[] mean, double[] cov, double[] chol, int stream)
    {
        int k = logits.Length;
        Span<double> bound = stackalloc double[k];
        double failSum = 0;
        for (int c = 0; c < k; c++)
        {
            if (c == label) continue;
            long gap = (long)logits[label] - logits[c];
            // y stays ahead of c iff gap + 2U >= 0 (c > y) or > 0 (c < y), U = D_y - D_c.
            long kc = c > label ? -FlipCondition.FloorDiv(gap, 2) : FlipCondition.FloorDiv(-gap, 2) + 1;
            bound[c] = kc - 0.5;
            double mu = mean[label] - mean[c];
            double var = cov[label * k + label] + cov[c * k + c] - 2 * cov[label * k + c];
            double sd = Math.Sqrt(Math.Max(0, var));
            double fail = sd > 1e-12 ? 0.5 * MathNet.Numerics.SpecialFunctions.Erfc((mu - bound[c]) / (sd * Math.Sqrt(2))) : (mu > bound[c] ? 0 : 1);
            failSum += fail;
        }
        if (failSum < 1e-6) return 1 - failSum;

        Cholesky(cov, k, chol);
        var random = Randomness.Derive(SamplingSeed, stream);
        Span<double> z = stackalloc double[k];
        Span<double> d = stackalloc double[k];
        int wins = 0;
        for (int s = 0; s < Samples / 2; s++)
        {
            for (int i = 0; i < k; i++) z[i] = StandardNormal(random);
            for (int sign = 1; sign >= -1; sign -= 2) // antithetic pair
            {
                for (int i = 0; i < k; i++)
                {
                    double acc = mean[i];
                    for (int j = 0; j <= i; j++) acc += chol[i * k + j] * z[j] * sign;
                    d[i] = acc;
                }
                bool ok = true;
                for (int c = 0; c < k && ok; c++)
                    if (c != label && !(d[label] - d[c] > bound[c])) ok = false;
                if (ok) wins++;
            }
        }
        return (double)wins / (Samples / 2 * 2);
    }

    /// <summary>Lower-triangular L with L L^T = a for a positive semi-definite a (zero columns where a pivot vanishes).</summary>
    internal static void Cholesky(double[] a, int k, double[] l)
    {
        Array.Clear(l);
        for (int j = 0; j < k; j++)
        {
            double d = a[j * k + j];
            for (int t = 0; t < j; t++) d -= l[j * k + t] * l[j * k + t];
            if (d <= 1e-12 * Math.Max(1, a[j * k + j])) continue; // semi-definite direction: leave the column zero
            double ljj = Math.Sqrt(d);
            l[j * k + j] = ljj;
            for (int i = j + 1; i < k; i++)
            {
                double s = a[i * k + j];
                for (int t = 0; t < j; t++) s -= l[i * k + t] * l[j * k + t];
                l[i * k + j] = s / ljj;
            }
        }
    }

    private static double StandardNormal(Random random)
    {
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
