using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Predictions;
using HilBench.Metrics.Tests.Support;

namespace HilBench.Metrics.Tests.Predictions;

public class ConvAccuracyPredictionTests
{
    [Test]
    public void Pooled_flip_probability_equals_enumeration_of_member_flips()
    {
        var random = new Random(31);
        for (int c = 0; c < 500; c++)
        {
            int members = random.Next(1, 5), threshold = random.Next(-3, 4);
            bool ascending = random.Next(2) == 0;
            var a = Enumerable.Range(0, members).Select(_ => threshold + random.Next(-2, 3)).ToArray(); // ties with T and T + 1 included
            var q = Enumerable.Range(0, members).Select(_ => random.Next(5) switch { 0 => 0, 1 => 1, _ => random.NextDouble() }).ToArray();
            double expected = EnumeratedPool(a, q, threshold, ascending, random);
            Assert.That(AccuracyPrediction.PooledFlipProbability(a, q, threshold, ascending), Is.EqualTo(expected).Within(1e-6),
                $"a = [{string.Join(", ", a)}], T = {threshold}, {(ascending ? "ascending" : "descending")}");
        }
    }

    /// <summary>
    /// Every subset of members whose own thresholded bit flips, with its probability under independence: a flipped member moves to a
    /// random pre-activation on the other side of its own threshold, and the window's output is the threshold of the maximum, as the
    /// engine pools.
    /// </summary>
    private static double EnumeratedPool(int[] a, double[] q, int threshold, bool ascending, Random random)
    {
        var layer = new ThresholdLayer(TensorShape.Vector(1), [threshold], [ascending]);
        bool clean = layer.Output(0, a.Max());
        double p = 0;
        for (int mask = 0; mask < 1 << a.Length; mask++)
        {
            double probability = 1;
            var moved = (int[])a.Clone();
            for (int k = 0; k < a.Length; k++)
            {
                bool flips = (mask >> k & 1) != 0;
                probability *= flips ? q[k] : 1 - q[k];
                if (!flips) continue;
                bool on = layer.Output(0, a[k]);
                int direction = ascending == on ? -1 : 1; // the high side (+1 ascending, -1 descending) flips downwards
                int v = a[k];
                while (layer.Output(0, v) == on) v += direction;
                moved[k] = v + direction * random.Next(3);
            }
            if (layer.Output(0, moved.Max()) != clean) p += probability;
        }
        return p;
    }

    [Test]
    public void Member_flip_probability_is_the_normal_approximation_with_the_tie_rule()
    {
        var random = new Random(32);
        for (int c = 0; c < 2000; c++)
        {
            int threshold = random.Next(-20, 21), a = threshold + random.Next(-12, 13);
            bool ascending = random.Next(2) == 0;
            double mean = (random.NextDouble() - 0.5) * 16, sd = random.Next(8) == 0 ? 0 : random.NextDouble() * 6;
            if (sd == 0) mean = Math.Round(mean); // D is certain: an integer
            double expected = FlipCondition.Of(a, threshold, ascending).NormalProbability(mean, sd);
            Assert.That(AccuracyPrediction.MemberFlipProbability(a, threshold, ascending, mean, sd), Is.EqualTo(expected).Within(2e-6),
                $"a = {a}, T = {threshold}, {(ascending ? "ascending" : "descending")}, D ~ N({mean}, {sd}^2)");
        }
    }

    [Test]
    public void Fast_normal_tail_matches_erfc()
    {
        for (double z = -10; z <= 10; z += 0.01)
        {
            float zf = (float)z;
            double expected = zf is > 9 or < -9 ? (zf > 0 ? 0 : 1) : 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(zf / Math.Sqrt(2));
            Assert.That((double)NormalTail.Upper(new System.Numerics.Vector<float>(zf))[0], Is.EqualTo(expected).Within(1e-5 * expected + 1e-12), $"z = {zf}");
        }
    }

    /// <summary>
    /// Dense blocks turn a row of tail arguments into flip probabilities in place: every length (whole vectors and a remainder),
    /// certain and impossible flips (zero standard deviation) included, as the double-precision normal approximation gives them.
    /// </summary>
    [TestCase(1)]
    [TestCase(16)]
    [TestCase(37)]
    public void Normal_tails_of_a_span_match_the_double_precision_approximation(int length)
    {
        var random = new Random(length);
        var conditions = new FlipCondition[length];
        var means = new double[length];
        var sds = new double[length];
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            conditions[i] = FlipCondition.Of(random.Next(-40, 41), random.Next(-5, 6), random.Next(2) == 0);
            means[i] = random.NextDouble() * 20 - 10;
            sds[i] = i % 5 == 0 ? 0 : random.NextDouble() * 8;
            values[i] = (float)conditions[i].TailArgument(means[i], sds[i]);
        }
        NormalTail.Upper(values);
        for (int i = 0; i < length; i++)
        {
            double expected = conditions[i].NormalProbability(means[i], sds[i]);
            Assert.That((double)values[i], Is.EqualTo(expected).Within(1e-5 * expected + 1e-7), $"element {i}: {conditions[i]}, N({means[i]}, {sds[i]}^2)");
        }
        Assert.That(values.Where((_, i) => sds[i] == 0), Is.All.EqualTo(0f).Or.EqualTo(1f));
    }

    /// <summary>
    /// A 2x2 pixel image, one conv channel (9 weights, every tap read by some position of the map) and, pooled, a single output:
    /// the block's flip fraction for one image is that output's flip probability, and every one of the 512 weight-flip patterns
    /// can be enumerated with the reference engine. Sets of up to two flips are exact in the prediction, so it may differ only by
    /// its approximation of the rest, whose mass bounds the difference.
    /// </summary>
    [TestCase(0.01, 0.01, true)]
    [TestCase(0.2, 0.2, true)]
    [TestCase(0.03, 0.12, true)]
    [TestCase(0.05, 0.05, false)]
    public void Pixel_conv_block_follows_enumeration_of_every_weight_flip_pattern(double p01, double p10, bool pool)
    {
        var random = new Random(33);
        var input = new TensorShape(2, 2, 1);
        var errors = new UniformBitErrors(p01, p10);
        double worst = 0, worstRest = 0;
        for (int c = 0; c < 40; c++)
        {
            var pixels = TinyNetworks.RandomPixels(1, input, seed: 100 + c);
            var conv = new BinaryConv2d(input, BitMatrix.Random(1, 9, random));
            var pre = ReferenceInference.Run(PixelConvModel(conv, pool, 0, true, random), pixels, 1, captureLayers: true).Layers![0].PreActivations;
            int threshold = pre.Min() + random.Next(-150, pre.Max() - pre.Min() + 150);
            var model = PixelConvModel(conv, pool, threshold, random.Next(2) == 0, random);
            var data = new ImageSet(input, pixels, [0], 10);
            double predicted = AccuracyPrediction.Propagate(model, data, PredictionFixtures.Capture(model, data), errors).MeanFlipFraction[0];
            double exact = EnumeratedBlock0(model, pixels, p01, p10);
            double rest = ThreeOrMoreFlips(conv.Weights, pixels, p01, p10);
            Assert.That(Math.Abs(predicted - exact), Is.LessThanOrEqualTo(rest + 1e-6), $"case {c}: predicted {predicted}, exact {exact}");
            if (Math.Abs(predicted - exact) > worst) (worst, worstRest) = (Math.Abs(predicted - exact), rest);
        }
        TestContext.Out.WriteLine($"largest |predicted - exact| {worst:G3} (the mass of three or more flips there: {worstRest:G3})");
    }

    private static BnnModel PixelConvModel(BinaryConv2d conv, bool pool, int threshold, bool ascending, Random random)
    {
        var shape = pool ? new TensorShape(1, 1, 1) : conv.OutputShape;
        var layers = new List<BnnLayer> { conv };
        if (pool) layers.Add(new MaxPool2d(conv.OutputShape));
        layers.Add(new ThresholdLayer(shape, [threshold], [ascending]));
        layers.Add(new BinaryDense(shape, BitMatrix.Random(10, shape.Size, random)));
        return new BnnModel(conv.InputShape, layers);
    }

    /// <summary>The mean flip probability of block 0's outputs, over all 2^9 patterns of the conv weights.</summary>
    private static double EnumeratedBlock0(BnnModel model, byte[] pixels, double p01, double p10)
    {
        var clean = ReferenceInference.Run(model, pixels, 1, captureLayers: true).Layers![0].Outputs!;
        var w = model.Blocks[0].Linear.Weights;
        int outputs = clean.Columns;
        double total = 0;
        for (int mask = 0; mask < 1 << 9; mask++)
        {
            var flipped = w.Clone();
            double probability = 1;
            for (int i = 0; i < 9; i++)
            {
                bool flips = (mask >> i & 1) != 0;
                probability *= flips ? (w[0, i] ? p10 : p01) : 1 - (w[0, i] ? p10 : p01);
                if (flips) flipped[0, i] = !w[0, i];
            }
            var weights = model.Blocks.Select(b => b.Index == 0 ? flipped : b.Linear.Weights).ToList();
            var now = ReferenceInference.Run(model.WithWeights(weights), pixels, 1, captureLayers: true).Layers![0].Outputs!;
            for (int o = 0; o < outputs; o++)
                if (now[0, o] != clean[0, o]) total += probability / outputs;
        }
        return total;
    }

    /// <summary>P(three or more of the weights that read a non-zero pixel somewhere in the 2x2 map flip): here every tap reads one.</summary>
    private static double ThreeOrMoreFlips(BitMatrix w, byte[] pixels, double p01, double p10)
    {
        // Weight (kh, kw) reads pixel (y + kh - 1, x + kw - 1) for positions (y, x) of the 2x2 map.
        var rates = new List<double>();
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
            {
                bool live = false;
                for (int y = 0; y < 2; y++)
                    for (int x = 0; x < 2; x++)
                    {
                        int iy = y + kh - 1, ix = x + kw - 1;
                        if (iy is >= 0 and < 2 && ix is >= 0 and < 2 && pixels[iy * 2 + ix] != 0) live = true;
                    }
                if (live) rates.Add(w[0, kh * 3 + kw] ? p10 : p01);
            }
        var count = new double[rates.Count + 1]; // distribution of the number of flips
        count[0] = 1;
        foreach (double r in rates)
            for (int j = count.Length - 1; j >= 0; j--) count[j] = count[j] * (1 - r) + (j > 0 ? count[j - 1] * r : 0);
        return count.Skip(3).Sum();
    }

    [Test]
    public void A_hidden_conv_block_on_a_1x1_map_predicts_what_the_dense_block_of_its_centre_taps_does()
    {
        // On a 1x1 map only the centre tap of a 3x3 kernel is in the map: the conv block is the dense block of those weights.
        var random = new Random(34);
        var input = new TensorShape(1, 1, 12);
        var w0 = BitMatrix.Random(16, 12, random);
        var t0 = new ThresholdLayer(TensorShape.Vector(16), Enumerable.Range(0, 16).Select(_ => random.Next(-300, 300)).ToArray(),
            Enumerable.Range(0, 16).Select(_ => random.Next(2) == 0).ToArray());
        var convWeights = BitMatrix.Random(20, 9 * 16, random);
        var centre = new BitMatrix(20, 16);
        for (int o = 0; o < 20; o++)
            for (int ch = 0; ch < 16; ch++) centre[o, ch] = convWeights[o, 4 * 16 + ch];
        var t1 = new ThresholdLayer(TensorShape.Vector(20), Enumerable.Range(0, 20).Select(j => j % 5 - 2).ToArray(),
            Enumerable.Range(0, 20).Select(j => j % 3 != 0).ToArray());
        var output = new BinaryDense(TensorShape.Vector(20), BitMatrix.Random(10, 20, random));
        var conv = new BnnModel(input, [new BinaryDense(input, w0), t0, new BinaryConv2d(new TensorShape(1, 1, 16), convWeights), t1, output]);
        var dense = new BnnModel(input, [new BinaryDense(input, w0), t0, new BinaryDense(TensorShape.Vector(16), centre), t1, output]);
        var data = PredictionFixtures.RandomImages(input, 300, seed: 5);
        foreach (var errors in new[] { new UniformBitErrors(0.05), new UniformBitErrors(0.02, 0.09) })
        {
            var fromConv = AccuracyPrediction.Propagate(conv, data, PredictionFixtures.Capture(conv, data), errors);
            var fromDense = AccuracyPrediction.Propagate(dense, data, PredictionFixtures.Capture(dense, data), errors);
            Assert.That(fromConv.MeanFlipFraction[1], Is.GreaterThan(0.05), "the case must not be trivial");
            Assert.That(fromConv.MeanFlipFraction, Is.EqualTo(fromDense.MeanFlipFraction).Within(1e-5), errors.ToString());
            // The output block sees inputs whose flip probabilities differ by float rounding, which can move single samples of the
            // integral (1/256 of one image each).
            Assert.That(fromConv.Accuracy, Is.EqualTo(fromDense.Accuracy).Within(2e-3), errors.ToString());
        }
    }

    /// <summary>Seeded random images labelled by the model itself, so that the clean accuracy is 1 and errors show as its loss.</summary>
    private static (BnnModel Model, ImageSet Data, InferenceResult Captured) SmallConv(string spec, TensorShape input, int images, int seed)
    {
        var model = ModelBuilder.FromSpec(spec, input, new Random(seed));
        var pixels = TinyNetworks.RandomPixels(images, input, seed);
        var clean = new InferenceEngine(model).Run(pixels, images, threads: 1);
        var data = new ImageSet(input, pixels, clean.Predictions.Select(p => (byte)p).ToArray(), model.Classes);
        return (model, data, PredictionFixtures.Capture(model, data));
    }

    /// <summary>Per hidden block, the fraction of output bits that differ from the clean run, and the accuracy, averaged over patterns.</summary>
    private static (double[] Flips, double Accuracy) MonteCarloFlips(BnnModel model, ImageSet data, InferenceResult captured, UniformBitErrors errors, int patterns, int seed)
    {
        var flips = new double[model.Blocks.Count - 1];
        double accuracy = 0;
        for (int k = 0; k < patterns; k++)
        {
            var (corrupted, _) = ErrorInjection.Corrupt(model, errors, ErrorInjection.TrialRandom(seed, k));
            var run = new InferenceEngine(corrupted).Run(data.Pixels, data.Count, threads: 2, captureLayers: true);
            for (int b = 0; b < flips.Length; b++)
            {
                var clean = captured.Layers![b].Outputs!.Words;
                var now = run.Layers![b].Outputs!.Words;
                long d = 0;
                for (int i = 0; i < clean.Length; i++) d += (long)ulong.PopCount(clean[i] ^ now[i]);
                flips[b] += d / ((double)data.Count * model.Blocks[b].OutputShape.Size) / patterns;
            }
            accuracy += run.Accuracy(data.Labels) / patterns;
        }
        return (flips, accuracy);
    }

    /// <summary>
    /// conv8-pool-conv16-pool-dense32-dense10 on 8x8 images (pixel conv, pooled hidden conv, dense, output) against 200 seeded
    /// patterns of the whole model. At BER 0.02 the flip fractions agree to 0.003 and the accuracy to 0.01. At 0.1 the pooled
    /// hidden conv block is predicted about a quarter low (0.115 against 0.152): its window members share the channel's weights and
    /// overlapping inputs, so their changes are correlated, and a high window loses only when all its high members fall, which
    /// independence makes too rare; the accuracy is then optimistic by about 0.05. The tolerances state those measured errors
    /// with some room.
    /// </summary>
    [TestCase(0.02, 0.02, 0.005, 0.03)]
    [TestCase(0.01, 0.04, 0.008, 0.03)]
    [TestCase(0.1, 0.1, 0.05, 0.07)]
    public void Small_conv_model_flip_fractions_and_accuracy_track_monte_carlo(double p01, double p10, double flipTolerance, double accuracyTolerance)
    {
        var (model, data, captured) = SmallConv("conv8,pool,conv16,pool,dense32,dense10", new TensorShape(8, 8, 1), images: 200, seed: 35);
        var errors = new UniformBitErrors(p01, p10);
        var predicted = AccuracyPrediction.Propagate(model, data, captured, errors);
        var (flips, accuracy) = MonteCarloFlips(model, data, captured, errors, patterns: 200, seed: 7);
        TestContext.Out.WriteLine($"{errors}: flips predicted {string.Join(" / ", predicted.MeanFlipFraction.Select(f => f.ToString("F4")))}, " +
            $"Monte-Carlo {string.Join(" / ", flips.Select(f => f.ToString("F4")))}; accuracy predicted {predicted.Accuracy:F4}, Monte-Carlo {accuracy:F4}");
        Assert.That(flips[1], Is.GreaterThan(0.05), "the case must not be trivial");
        Assert.That(predicted.MeanFlipFraction, Is.EqualTo(flips).Within(flipTolerance));
        Assert.That(predicted.Accuracy, Is.EqualTo(accuracy).Within(accuracyTolerance));
    }

    [Test]
    public void Conv_prediction_is_the_same_on_every_thread_count()
    {
        var (model, data, captured) = SmallConv("conv8,pool,conv16,pool,dense32,dense10", new TensorShape(8, 8, 1), images: 300, seed: 36);
        foreach (var errors in new[] { new UniformBitErrors(0.05), new UniformBitErrors(0.02, 0.07) })
        {
            var one = AccuracyPrediction.Propagate(model, data, captured, errors, threads: 1);
            var two = AccuracyPrediction.Propagate(model, data, captured, errors, threads: 2);
            var three = AccuracyPrediction.Propagate(model, data, captured, errors, threads: 3);
            Assert.That(two.CorrectProbability, Is.EqualTo(one.CorrectProbability));
            Assert.That(two.MeanFlipFraction, Is.EqualTo(one.MeanFlipFraction));
            Assert.That(three.CorrectProbability, Is.EqualTo(one.CorrectProbability));
            Assert.That(three.MeanFlipFraction, Is.EqualTo(one.MeanFlipFraction));
        }
    }

    [Test]
    public void Without_errors_a_conv_prediction_is_the_clean_accuracy()
    {
        // Three input channels and odd maps (7x7 and 3x3: pooling drops the last row and column) exercise the im2col layout; the
        // recomputed pre-activations are checked against the captured ones on the way.
        var (model, data, captured) = SmallConv("conv4,pool,conv6,pool,dense8,dense10", new TensorShape(7, 7, 3), images: 50, seed: 37);
        var result = AccuracyPrediction.Propagate(model, data, captured, new UniformBitErrors(0));
        Assert.That(result.MeanFlipFraction, Is.All.EqualTo(0));
        Assert.That(result.CorrectProbability, Is.All.EqualTo(1));
        var noisy = AccuracyPrediction.Propagate(model, data, captured, new UniformBitErrors(0.05));
        Assert.That(noisy.MeanFlipFraction, Is.All.InRange(0.001, 0.5));
    }

    [Test]
    public void Shipped_vgg3_prediction_tracks_monte_carlo()
    {
        var model = PredictionFixtures.Shipped("fmnist-vgg3-bft0");
        var data = PredictionFixtures.TestImages(400);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(0.05);
        var predicted = AccuracyPrediction.Propagate(model, data, captured, errors);
        var (flips, accuracy) = MonteCarloFlips(model, data, captured, errors, patterns: 10, seed: 1);
        TestContext.Out.WriteLine($"p = 0.05, 400 images: predicted accuracy {predicted.Accuracy:F4}, Monte-Carlo {accuracy:F4}; flip fractions predicted " +
            $"{string.Join(" / ", predicted.MeanFlipFraction.Select(f => f.ToString("F4")))}, measured {string.Join(" / ", flips.Select(f => f.ToString("F4")))}");
        Assert.That(predicted.MeanFlipFraction, Is.EqualTo(flips).Within(0.015));
        // As for the MLPs, the dropped correlations make the prediction optimistic by one to two points here (see the README).
        Assert.That(predicted.Accuracy, Is.EqualTo(accuracy).Within(0.04));
    }
}
