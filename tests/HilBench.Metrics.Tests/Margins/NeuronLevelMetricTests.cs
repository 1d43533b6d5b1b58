using HilBench.Bnn.Data;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Margins;
using HilBench.Metrics.Tests.Support;

namespace HilBench.Metrics.Tests.Margins;

[TestFixture]
public class NeuronLevelMetricTests
{
    private const double Eps = 1e-12;

    /// <summary>
    /// 4 pixels -> 2 neurons (ascending T = -10 and descending T = 4) -> 2 neurons (ascending T = 0 and
    /// descending T = 0) -> 2 classes, on three images whose margins and flip counts are worked out below.
    /// </summary>
    private static (BnnModel Model, ImageSet Images) HandBuilt()
    {
        var model = new BnnModel(TensorShape.Vector(4),
        [
            TinyNetworks.Dense(4, [1, 1, 1, -1], [-1, 1, -1, 1]),
            TinyNetworks.Thresholds([-10, 4], [true, false]),
            TinyNetworks.Dense(2, [1, 1], [1, -1]),
            TinyNetworks.Thresholds([0, 0], [true, false]),
            TinyNetworks.Dense(2, [1, -1], [-1, 1]),
        ]);
        var images = TinyNetworks.Images(TensorShape.Vector(4), 2, [0, 1, 0], [5, 5, 5, 0], [0, 0, 0, 7], [1, 2, 3, 1]);
        return (model, images);
    }

    [Test]
    public void PixelBlockByHand()
    {
        var (model, images) = HandBuilt();
        var captured = new InferenceEngine(model).Run(images.Pixels, images.Count, captureLayers: true);
        var m = NeuronLevelMetric.Compute(model, captured, images, bins: 5)[0];

        // Neuron 0 (+ + + -, a >= -10): a = 15, -7, 5 -> d = 25, 3, 15; flips 3 (three 5s, 10 each, to move 26),
        //   unreachable (no positive term to go from -7 below -10), unreachable (3+2+1 moves 12 < 16).
        // Neuron 1 (- + - +, a <= 4): a = -5, 7, -1 -> d = 9, 3, 5; flips 1 each (-5 moves 10 >= 10, 7 moves 14 >= 3, -3 moves 6 >= 6).
        Assert.That(m.Block, Is.Zero);
        Assert.That(m.Neurons, Is.EqualTo(2));
        Assert.That(m.FanIn, Is.EqualTo(4));
        Assert.That(m.Samples, Is.EqualTo(6));
        Assert.That(m.Mean, Is.EqualTo(60.0 / 6 / 4).Within(Eps));
        Assert.That(m.Median, Is.EqualTo(7.0 / 4).Within(Eps), "d sorted 3 3 5 9 15 25: halfway between 5 and 9");
        Assert.That(m.Quantile5, Is.EqualTo(3.0 / 4).Within(Eps));
        Assert.That(m.NeuronMeans, Is.EqualTo(new[] { 43.0 / 12, 17.0 / 12 }).Within(Eps));
        Assert.That(m.HistogramEdges, Is.EqualTo(new[] { 0, 1.25, 2.5, 3.75, 5, 6.25 }).Within(Eps));
        Assert.That(m.HistogramCounts, Is.EqualTo(new long[] { 2, 2, 0, 1, 1 }));
        Assert.That(m.FlipMethod, Is.EqualTo(FlipCountMethod.Exact));
        Assert.That(m.UnreachableSamples, Is.EqualTo(2));
        Assert.That(m.MeanFlipsToChange, Is.EqualTo(1.5).Within(Eps));
        Assert.That(m.MedianFlipsToChange, Is.EqualTo(1.0));
    }

    [Test]
    public void BinaryBlockByHandWithTies()
    {
        var (model, images) = HandBuilt();
        var captured = ReferenceInference.Run(model, images.Pixels, images.Count, captureLayers: true);
        var m = NeuronLevelMetric.Compute(model, captured, images, bins: 2)[1];

        // Block 0 outputs: (+1, +1), (+1, -1), (+1, +1).
        // Neuron 0 (+ +, a >= 0): a = 2, 0 (tie: on), 2 -> d = 2, 0, 2; flips 2 (to -2), 1 (to -2), 2.
        // Neuron 1 (+ -, a <= 0): a = 0 (tie: on), 2, 0 -> d = 0, 2, 0; flips 1 (to 2), 1 (to 0), 1.
        Assert.That(m.Block, Is.EqualTo(1));
        Assert.That(m.FanIn, Is.EqualTo(2));
        Assert.That(m.Samples, Is.EqualTo(6));
        Assert.That(m.Mean, Is.EqualTo(0.5).Within(Eps));
        Assert.That(m.Median, Is.EqualTo(0.5).Within(Eps), "d sorted 0 0 0 2 2 2: halfway between 0 and 2, over n = 2");
        Assert.That(m.Quantile5, Is.Zero);
        Assert.That(m.NeuronMeans, Is.EqualTo(new[] { 2.0 / 3, 1.0 / 3 }).Within(Eps));
        Assert.That(m.HistogramEdges, Is.EqualTo(new[] { 0, 0.5, 1 }).Within(Eps));
        Assert.That(m.HistogramCounts, Is.EqualTo(new long[] { 3, 3 }));
        Assert.That(m.UnreachableSamples, Is.Zero);
        Assert.That(m.MeanFlipsToChange, Is.EqualTo(8.0 / 6).Within(Eps));
        Assert.That(m.MedianFlipsToChange, Is.EqualTo(1.0));
    }

    [Test]
    public void WithoutPixelsTheFirstBlockHasMarginsButNoFlipCounts()
    {
        var (model, images) = HandBuilt();
        var captured = new InferenceEngine(model).Run(images.Pixels, images.Count, captureLayers: true);
        var all = NeuronLevelMetric.Compute(model, captured);
        Assert.That(all, Has.Count.EqualTo(2));
        Assert.That(all[0].Mean, Is.EqualTo(2.5).Within(Eps));
        Assert.That(all[0].FlipMethod, Is.EqualTo(FlipCountMethod.NotComputed));
        Assert.That(all[0].MeanFlipsToChange, Is.NaN);
        Assert.That(all[1].MeanFlipsToChange, Is.EqualTo(8.0 / 6).Within(Eps), "later blocks need no pixels");
    }

    [Test]
    public void ResultsWithoutCapturedLayersOrFromAnotherModelAreRefused()
    {
        var (model, images) = HandBuilt();
        var plain = new InferenceEngine(model).Run(images.Pixels, images.Count);
        Assert.That(() => NeuronLevelMetric.Compute(model, plain), Throws.ArgumentException.With.Message.Contains("captureLayers"));

        var conv = ModelBuilder.FromSpec("conv3,pool,conv4,pool,dense5,dense3", new TensorShape(6, 6, 1), new Random(3));
        var other = ModelBuilder.FromSpec("conv3,pool,conv4,pool,dense5,dense3", new TensorShape(6, 6, 1), new Random(4));
        var data = TinyNetworks.RandomImages(conv, 4, 5);
        var captured = new InferenceEngine(other).Run(data.Pixels, data.Count, captureLayers: true);
        Assert.That(() => NeuronLevelMetric.Compute(conv, captured, data), Throws.ArgumentException.With.Message.Contains("do not match"));
    }

    /// <summary>Margins are counted in chunks of activation rows, in parallel: every figure must equal a plain count, whatever the thread count.</summary>
    [Test]
    public void MarginsCountedInChunksEqualAPlainCount()
    {
        var model = ModelBuilder.FromSpec("conv8,dense3", new TensorShape(16, 16, 1), new Random(5));
        var data = TinyNetworks.RandomImages(model, 70, 9); // 17,920 rows of 8 channels: several chunks
        var captured = new InferenceEngine(model).Run(data.Pixels, data.Count, captureLayers: true);
        var one = NeuronLevelMetric.Compute(model, captured, data, threads: 1)[0];
        var two = NeuronLevelMetric.Compute(model, captured, data, threads: 2)[0];
        var t = model.Blocks[0].Threshold!;
        var pre = captured.Layers![0].PreActivations;
        var d = pre.Select((a, i) => (double)Math.Abs((long)a - t.Thresholds[i % 8])).ToList();
        int n = model.Blocks[0].Linear.FanIn;
        foreach (var m in new[] { one, two })
        {
            Assert.That(m.Samples, Is.EqualTo(d.Count));
            Assert.That(m.Mean, Is.EqualTo(d.Average() / n).Within(Eps));
            Assert.That(m.Median, Is.EqualTo(Type7(d, 0.5) / n).Within(Eps));
            Assert.That(m.Quantile5, Is.EqualTo(Type7(d, 0.05) / n).Within(Eps));
            for (int c = 0; c < 8; c++)
                Assert.That(m.NeuronMeans[c], Is.EqualTo(d.Where((_, i) => i % 8 == c).Average() / n).Within(Eps), $"channel {c}");
        }
        Assert.That(two.HistogramCounts, Is.EqualTo(one.HistogramCounts));
    }

    /// <summary>
    /// Conv blocks against a plain recomputation: pre-pooling maps from +-1 weights, the window maximum, and the
    /// fewest flips of a dense neuron over the taps of the maximising position (the smallest over tied positions).
    /// </summary>
    [TestCase("conv3,conv4,pool,dense5,dense3", 6, 6, 1)]
    [TestCase("conv3,pool,conv4,pool,dense5,dense3", 7, 6, 2)]
    public void ConvBlocksMatchAPlainRecomputation(string spec, int h, int w, int c)
    {
        var model = ModelBuilder.FromSpec(spec, new TensorShape(h, w, c), new Random(h * 10 + w));
        var data = TinyNetworks.RandomImages(model, 12, 7);
        var captured = ReferenceInference.Run(model, data.Pixels, data.Count, captureLayers: true);
        var margins = NeuronLevelMetric.Compute(model, captured, data, threads: 2);

        int hidden = model.Blocks.Count(b => !b.IsOutput);
        Assert.That(margins, Has.Count.EqualTo(hidden));
        for (int bi = 0; bi < hidden; bi++)
        {
            var block = model.Blocks[bi];
            var t = block.Threshold!;
            var (d, flips) = Expected(model, block, captured, data);
            var m = margins[bi];
            Assert.That(m.Samples, Is.EqualTo(d.Count));
            Assert.That(m.Mean, Is.EqualTo(d.Average() / block.Linear.FanIn).Within(Eps), $"block {bi} mean");
            Assert.That(m.Median, Is.EqualTo(Type7(d, 0.5) / block.Linear.FanIn).Within(Eps), $"block {bi} median");
            Assert.That(m.Quantile5, Is.EqualTo(Type7(d, 0.05) / block.Linear.FanIn).Within(Eps), $"block {bi} 5 % quantile");
            var reachable = flips.Where(f => f != NeuronLevelMetric.Unreachable).Select(f => (double)f).ToList();
            Assert.That(m.UnreachableSamples, Is.EqualTo(flips.Count - reachable.Count), $"block {bi} unreachable");
            Assert.That(m.MeanFlipsToChange, Is.EqualTo(reachable.Average()).Within(Eps), $"block {bi} mean flips");
            Assert.That(m.MedianFlipsToChange, Is.EqualTo(Type7(reachable, 0.5)).Within(Eps), $"block {bi} median flips");
            var method = block.Pool is not null ? FlipCountMethod.PooledConvApproximation : FlipCountMethod.Exact;
            Assert.That(m.FlipMethod, Is.EqualTo(method));
            Assert.That(m.HistogramCounts.Sum(), Is.EqualTo(d.Count));
        }
    }

    private static double Type7(IEnumerable<double> values, double q)
    {
        var s = values.Order().ToArray();
        double hh = (s.Length - 1) * q;
        int lo = (int)Math.Floor(hh);
        return lo + 1 < s.Length ? s[lo] + (hh - lo) * (s[lo + 1] - s[lo]) : s[lo];
    }

    /// <summary>Margins and flip counts of every sample of a block, recomputed from the definition.</summary>
    private static (List<double> D, List<int> Flips) Expected(BnnModel model, BnnBlock block, InferenceResult captured, ImageSet data)
    {
        var t = block.Threshold!;
        var d = new List<double>();
        var flips = new List<int>();
        var inShape = block.Linear.InputShape;
        for (int img = 0; img < data.Count; img++)
        {
            var x = new int[inShape.Size];
            for (int i = 0; i < x.Length; i++)
                x[i] = block.ReadsPixels ? data.Image(img)[i] : captured.Layers![block.Index - 1].Outputs![img, i] ? 1 : -1;
            // Every sample's contributions w_i x_i per position (padded taps left out) and its pre-activation.
            var terms = new List<int>[block.Linear.OutputShape.Size];
            if (block.Linear is BinaryConv2d conv)
            {
                for (int y = 0; y < inShape.Height; y++)
                    for (int xx = 0; xx < inShape.Width; xx++)
                        for (int o = 0; o < conv.Outputs; o++)
                        {
                            var list = new List<int>();
                            for (int kh = 0; kh < 3; kh++)
                                for (int kw = 0; kw < 3; kw++)
                                {
                                    int iy = y + kh - 1, ix = xx + kw - 1;
                                    if (iy < 0 || iy >= inShape.Height || ix < 0 || ix >= inShape.Width) continue;
                                    for (int c = 0; c < inShape.Channels; c++)
                                        list.Add(conv.Weights.Sign(o, conv.Column(kh, kw, c)) * x[(iy * inShape.Width + ix) * inShape.Channels + c]);
                                }
                            terms[(y * inShape.Width + xx) * conv.Outputs + o] = list;
                        }
            }
            else
            {
                for (int o = 0; o < block.Linear.Outputs; o++)
                    terms[o] = Enumerable.Range(0, x.Length).Select(i => block.Linear.Weights.Sign(o, i) * x[i]).ToList();
            }

            var outShape = block.OutputShape;
            var linShape = block.Linear.OutputShape;
            int ch = outShape.Channels;
            for (int q = 0; q < outShape.Height * outShape.Width; q++)
                for (int o = 0; o < ch; o++)
                {
                    var window = block.Pool is null
                        ? new[] { q }
                        : new[] { (0, 0), (0, 1), (1, 0), (1, 1) }.Select(v => (2 * (q / outShape.Width) + v.Item1) * linShape.Width + 2 * (q % outShape.Width) + v.Item2).ToArray();
                    int max = window.Max(p => terms[p * ch + o].Sum());
                    Assert.That(max, Is.EqualTo(captured.Layers![block.Index].PreActivationsOf(img)[q * ch + o]));
                    d.Add(Math.Abs((long)max - t.Thresholds[o]));
                    flips.Add(window.Where(p => terms[p * ch + o].Sum() == max)
                        .Min(p => NeuronLevelMetric.FlipsToChange(terms[p * ch + o].ToArray(), t.Thresholds[o], t.Ascending[o])));
                }
        }
        return (d, flips);
    }
}
