using HilBench.Bnn.Inference;
using HilBench.Bnn.Kernels;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Bnn.Training;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training;

/// <summary>
/// Backward passes against finite differences of the relaxed (pre-sign) functions: the dense product
/// X W^T with the binarized weights, and batch norm followed by hardtanh, whose derivative is the
/// straight-through mask 1{|z| &lt;= 1}.
/// </summary>
[TestFixture]
public class BackwardTests
{
    private const int Count = 12, In = 70, Out = 33;

    private static TrainingBlock Block(bool hidden, int seed, out float[] x, out ulong[] bits)
    {
        var r = new Random(seed);
        var block = new TrainingBlock(1, In, Out, hidden, r, new AdamOptimizer());
        block.Binarize(null, r);
        x = new float[Count * In];
        int words = BitMatrix.WordsFor(In);
        bits = new ulong[Count * words];
        for (int i = 0; i < Count; i++)
            for (int j = 0; j < In; j++)
            {
                bool on = r.Next(2) == 1;
                x[i * In + j] = on ? 1 : -1;
                if (on) bits[i * words + (j >> 6)] |= 1UL << (j & 63);
            }
        block.Forward([], bits, x, Count, KernelPaths.Resolve(KernelPath.Auto), new TrainingOptions(), training: true, threads: 1);
        return block;
    }

    private static float[] Signs(TrainingBlock block)
    {
        var w = block.Signs();
        var s = new float[Out * In];
        for (int o = 0; o < Out; o++)
            for (int i = 0; i < In; i++) s[o * In + i] = w.Sign(o, i);
        return s;
    }

    [Test]
    public void ForwardIsExactForAFanInBeyondSixteenBitCounters()
    {
        // Inputs all +1, weights all -1 except o + 1 of them in neuron o: n - o - 1 disagreements, above 65,535.
        const int n = 65_600, outs = 40, rows = 4;
        var block = new TrainingBlock(1, n, outs, hidden: false, new Random(1), new AdamOptimizer());
        Array.Fill(block.Latent, -0.5f);
        for (int o = 0; o < outs; o++)
            for (int i = 0; i <= o; i++) block.Latent[o * n + 1000 * i] = 0.5f;
        block.Binarize(null, new Random(2));
        var x = Enumerable.Repeat(1f, rows * n).ToArray();
        int words = BitMatrix.WordsFor(n);
        var bits = new ulong[rows * words];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) bits[r * words + (j >> 6)] |= 1UL << (j & 63);
        block.Forward([], bits, x, rows, KernelPaths.Resolve(KernelPath.Auto), new TrainingOptions(), training: true, threads: 1);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outs; o++)
                Assert.That(block.PreActivations![r * outs + o], Is.EqualTo(n - 2f * (n - o - 1)), $"row {r}, neuron {o}");
    }

    [Test]
    public void ForwardPreActivationsAreTheProductWithTheBinarizedWeights()
    {
        var block = Block(hidden: false, 1, out var x, out _);
        var w = Signs(block);
        for (int r = 0; r < Count; r++)
            for (int o = 0; o < Out; o++)
            {
                float sum = 0;
                for (int i = 0; i < In; i++) sum += x[r * In + i] * w[o * In + i];
                Assert.That(block.PreActivations![r * Out + o], Is.EqualTo(sum));
            }
    }

    [Test]
    public void DenseBackwardMatchesFiniteDifferences()
    {
        var block = Block(hidden: false, 2, out var x, out _);
        var r = new Random(3);
        var c = Enumerable.Range(0, Count * Out).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var dx = block.Backward(c, Count, threads: 1, needInputGradient: true)!;
        var w = Signs(block);
        // f(W, X) = sum c .* (X W^T) is linear: central differences are exact up to rounding.
        double F(float[] xs, float[] ws)
        {
            double f = 0;
            for (int i = 0; i < Count; i++)
                for (int o = 0; o < Out; o++)
                {
                    double a = 0;
                    for (int k = 0; k < In; k++) a += xs[i * In + k] * ws[o * In + k];
                    f += c[i * Out + o] * a;
                }
            return f;
        }
        const float h = 0.5f;
        foreach (int idx in new[] { 0, 17, 5 * In + 3, Out * In - 1 })
        {
            var wp = (float[])w.Clone(); wp[idx] += h;
            var wm = (float[])w.Clone(); wm[idx] -= h;
            double numeric = (F(x, wp) - F(x, wm)) / (2 * h);
            Assert.That(block.LatentGradient[idx], Is.EqualTo(numeric).Within(1e-4), $"dW[{idx}]");
        }
        foreach (int idx in new[] { 0, 9, 3 * In + 11, Count * In - 1 })
        {
            var xp = (float[])x.Clone(); xp[idx] += h;
            var xm = (float[])x.Clone(); xm[idx] -= h;
            double numeric = (F(xp, w) - F(xm, w)) / (2 * h);
            Assert.That(dx[idx], Is.EqualTo(numeric).Within(1e-4), $"dX[{idx}]");
        }
    }

    [Test]
    public void StraightThroughCancelsTheGradientOfLatentWeightsBeyondOne()
    {
        var block = Block(hidden: false, 4, out _, out _);
        block.Latent[0] = 1.5f;
        block.Latent[1] = -1.25f;
        block.Latent[2] = 1f;
        var c = Enumerable.Repeat(1f, Count * Out).ToArray();
        block.Backward(c, Count, threads: 1, needInputGradient: false);
        Assert.That(block.LatentGradient[0], Is.Zero);
        Assert.That(block.LatentGradient[1], Is.Zero);
        Assert.That(block.LatentGradient[2], Is.Not.Zero, "|w| = 1 still passes the gradient");
    }

    [TestCase(0.3f)]
    [TestCase(2.5f)]
    public void BatchNormHardtanhBackwardMatchesFiniteDifferences(float gammaScale)
    {
        var block = Block(hidden: true, 5, out _, out _);
        var r = new Random(6);
        for (int j = 0; j < Out; j++)
        {
            block.Gamma[j] = gammaScale * (float)(0.5 + r.NextDouble());
            block.Beta[j] = (float)(r.NextDouble() - 0.5);
        }
        var a = Enumerable.Range(0, Count * Out).Select(_ => (float)(r.NextDouble() * 40 - 20)).ToArray();
        var c = Enumerable.Range(0, Count * Out).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var options = new TrainingOptions();
        double F(float[] pre)
        {
            block.PreActivations = pre;
            block.BatchNormSign(Count, options, training: false);
            double f = 0;
            for (int i = 0; i < pre.Length; i++) f += c[i] * Math.Clamp(block.Normalized[i], -1f, 1f);
            return f;
        }
        F((float[])a.Clone());
        var kinkFree = block.Normalized.Select(z => Math.Abs(Math.Abs(z) - 1) > 0.05f).ToArray();
        var da = (float[])block.BatchNormBackward(c, Count).Clone();
        const float h = 1e-2f;
        int checkedEntries = 0;
        for (int idx = 0; idx < a.Length; idx += 7)
        {
            if (!kinkFree[idx]) continue;
            var ap = (float[])a.Clone(); ap[idx] += h;
            var am = (float[])a.Clone(); am[idx] -= h;
            double numeric = (F(ap) - F(am)) / (2 * h);
            Assert.That(da[idx], Is.EqualTo(numeric).Within(2e-3 + 2e-3 * Math.Abs(numeric)), $"dA[{idx}]");
            checkedEntries++;
        }
        Assert.That(checkedEntries, Is.GreaterThan(20));
    }

    [Test]
    public void FoldedThresholdsGiveTheSameOutputsAsUnfoldedBatchNorm()
    {
        var data = HilBench.Bnn.Data.IdxDataset.LoadTest(HilBench.Bnn.Data.IdxDataset.DefaultDirectory()).Take(300);
        var options = new TrainingOptions { Architecture = "dense96,dense48,dense10", BatchSize = 50, Threads = 1 };
        var trainer = new BnnTrainer(data.Shape, 10, options);
        trainer.TrainEpoch(data, 1);
        var model = trainer.Export();
        var result = ReferenceInference.Run(model, data.Pixels, data.Count, captureLayers: true);
        int mismatches = 0, total = 0;
        for (int b = 0; b < 2; b++)
        {
            var block = trainer.Blocks[b];
            var layer = result.Layers![b];
            for (int i = 0; i < data.Count; i++)
                for (int j = 0; j < block.Out; j++)
                {
                    double a = layer.PreActivationsOf(i)[j];
                    // Unfolded batch norm with the running statistics, then sign, in double.
                    double z = block.Gamma[j] * (a - block.RunningMean[j]) / Math.Sqrt(block.RunningVariance[j] + options.BatchNormEpsilon) + block.Beta[j];
                    if (z >= 0 != layer.Outputs![i, j]) mismatches++;
                    total++;
                }
        }
        Assert.That(mismatches, Is.Zero, $"{mismatches} of {total} outputs differ");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ConvBackwardMatchesFiniteDifferences(bool pool)
    {
        var map = new TensorShape(5, 4, 3);
        const int outs = 6, images = 3;
        var r = new Random(pool ? 8 : 9);
        var block = new TrainingBlock(1, map, outs, pool, hidden: true, r, new AdamOptimizer());
        block.Binarize(null, r);
        int mapWords = BitMatrix.WordsFor(map.Size);
        var x = new float[images * map.Size];
        var bits = new ulong[images * mapWords];
        for (int i = 0; i < images; i++)
            for (int j = 0; j < map.Size; j++)
            {
                bool on = r.Next(2) == 1;
                x[i * map.Size + j] = on ? 1 : -1;
                if (on) bits[i * mapWords + (j >> 6)] |= 1UL << (j & 63);
            }
        block.Forward([], bits, x, images, KernelPaths.Resolve(KernelPath.Auto), new TrainingOptions(), training: true, threads: 1);
        var w = new float[outs * 9 * map.Channels];
        var signs = block.Signs();
        for (int o = 0; o < outs; o++)
            for (int k = 0; k < 9 * map.Channels; k++) w[o * 9 * map.Channels + k] = signs.Sign(o, k);

        // The relaxed function: sum of c times the (pooled) pre-activations, from a plain float convolution with zero padding.
        double F(float[] xs, float[] ws)
        {
            double f = 0;
            int oh = pool ? map.Height / 2 : map.Height, ow = pool ? map.Width / 2 : map.Width;
            for (int i = 0; i < images; i++)
                for (int y = 0; y < oh; y++)
                    for (int xx = 0; xx < ow; xx++)
                        for (int o = 0; o < outs; o++)
                        {
                            double best = double.NegativeInfinity;
                            int span = pool ? 2 : 1;
                            for (int dy = 0; dy < span; dy++)
                                for (int dx = 0; dx < span; dx++)
                                    best = Math.Max(best, Conv(xs, ws, i, span * y + dy, span * xx + dx, o));
                            f += C[((i * oh + y) * ow + xx) * outs + o] * best;
                        }
            return f;
        }
        double Conv(float[] xs, float[] ws, int image, int y, int xx, int o)
        {
            double sum = 0;
            for (int kh = 0; kh < 3; kh++)
                for (int kw = 0; kw < 3; kw++)
                {
                    int iy = y + kh - 1, ix = xx + kw - 1;
                    if (iy < 0 || iy >= map.Height || ix < 0 || ix >= map.Width) continue;
                    for (int c = 0; c < map.Channels; c++)
                        sum += ws[o * 9 * map.Channels + (kh * 3 + kw) * map.Channels + c] * xs[image * map.Size + (iy * map.Width + ix) * map.Channels + c];
                }
            return sum;
        }
        C = Enumerable.Range(0, block.PreActivations!.Length).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        Assert.That(F(x, w), Is.EqualTo(Enumerable.Range(0, C.Length).Sum(i => (double)C[i] * block.PreActivations[i])).Within(1e-3),
            "the block's pre-activations are the float convolution (and pooling)");
        var dMap = block.Backward(C, images, threads: 1, needInputGradient: true)!;
        if (!pool)
        {
            // Linear: central differences are exact.
            const float h = 0.5f;
            for (int idx = 0; idx < w.Length; idx += 5)
            {
                var wp = (float[])w.Clone(); wp[idx] += h;
                var wm = (float[])w.Clone(); wm[idx] -= h;
                Assert.That(block.LatentGradient[idx], Is.EqualTo((F(x, wp) - F(x, wm)) / (2 * h)).Within(1e-3), $"dW[{idx}]");
            }
            for (int idx = 0; idx < x.Length; idx += 3)
            {
                var xp = (float[])x.Clone(); xp[idx] += h;
                var xm = (float[])x.Clone(); xm[idx] -= h;
                Assert.That(dMap[idx], Is.EqualTo((F(xp, w) - F(xm, w)) / (2 * h)).Within(1e-3), $"dX[{idx}]");
            }
            return;
        }
        // Max pooling has integer ties, where finite differences are undefined: compare with the gradient of the
        // winning convolution output, the winner being the first maximum of the 2x2 window in row-major order.
        var dW = new double[w.Length];
        var dX = new double[x.Length];
        int ph = map.Height / 2, pw = map.Width / 2;
        for (int i = 0; i < images; i++)
            for (int y = 0; y < ph; y++)
                for (int xx = 0; xx < pw; xx++)
                    for (int o = 0; o < outs; o++)
                    {
                        (int by, int bx) = (2 * y, 2 * xx);
                        foreach (var (dy, dx) in new[] { (0, 1), (1, 0), (1, 1) })
                            if (Conv(x, w, i, 2 * y + dy, 2 * xx + dx, o) > Conv(x, w, i, by, bx, o)) (by, bx) = (2 * y + dy, 2 * xx + dx);
                        double c = C[((i * ph + y) * pw + xx) * outs + o];
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++)
                            {
                                int iy = by + kh - 1, ix = bx + kw - 1;
                                if (iy < 0 || iy >= map.Height || ix < 0 || ix >= map.Width) continue;
                                for (int ch = 0; ch < map.Channels; ch++)
                                {
                                    int wi = o * 9 * map.Channels + (kh * 3 + kw) * map.Channels + ch, xi = i * map.Size + (iy * map.Width + ix) * map.Channels + ch;
                                    dW[wi] += c * x[xi];
                                    dX[xi] += c * w[wi];
                                }
                            }
                    }
        for (int idx = 0; idx < w.Length; idx++) Assert.That(block.LatentGradient[idx], Is.EqualTo(dW[idx]).Within(1e-4), $"dW[{idx}]");
        for (int idx = 0; idx < x.Length; idx++) Assert.That(dMap[idx], Is.EqualTo(dX[idx]).Within(1e-4), $"dX[{idx}]");
    }

    private float[] C = [];
}
