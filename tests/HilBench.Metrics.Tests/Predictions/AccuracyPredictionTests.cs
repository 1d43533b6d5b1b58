using HilBench.Bnn.Data;
using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Layers;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Predictions;
using HilBench.Metrics.Tests.Support;
using HilBench.Metrics.Tolerance;

namespace HilBench.Metrics.Tests.Predictions;

public class AccuracyPredictionTests
{
    [Test]
    public void Without_errors_the_prediction_is_the_clean_accuracy()
    {
        var model = PredictionFixtures.SmallMlp(seed: 21);
        var data = PredictionFixtures.RandomImages(model.InputShape, 200, seed: 1);
        var captured = PredictionFixtures.Capture(model, data);
        var result = AccuracyPrediction.Propagate(model, data, captured, new UniformBitErrors(0));
        Assert.That(result.Accuracy, Is.EqualTo(captured.Accuracy(data.Labels)));
        Assert.That(result.MeanFlipFraction, Is.All.EqualTo(0));
        for (int m = 0; m < data.Count; m++)
            Assert.That(result.CorrectProbability[m], Is.EqualTo(captured.Predictions[m] == data.Labels[m] ? 1 : 0), $"image {m}");
    }

    [TestCase(0.05, 0.05, 0.176953125, 0.1692822267675714, 0.29629939702982666)]
    [TestCase(0.02, 0.06, 0.16916015625, 0.1810193952589514, 0.2988707853933738)]
    public void Dense_propagation_reproduces_its_reference_values(double p01, double p10, double accuracy, double flips0, double flips1)
    {
        // Reference values of the dense propagation for this seeded case: any change to the dense formulas shows here. They are
        // bit-identical on the AVX2 and AVX-512 GEMM paths; the tolerance leaves room for the scalar path's rounding, which can also
        // move single samples of the output integral (1/256 of one image's probability each).
        var model = PredictionFixtures.SmallMlp(seed: 26);
        var random = PredictionFixtures.RandomImages(model.InputShape, 200, seed: 5);
        var clean = new InferenceEngine(model).Run(random.Pixels, random.Count, threads: 1);
        var data = new ImageSet(model.InputShape, random.Pixels, clean.Predictions.Select(p => (byte)p).ToArray(), 10);
        var result = AccuracyPrediction.Propagate(model, data, PredictionFixtures.Capture(model, data), new UniformBitErrors(p01, p10));
        Assert.That(result.MeanFlipFraction, Is.EqualTo(new[] { flips0, flips1 }).Within(1e-6));
        Assert.That(result.Accuracy, Is.EqualTo(accuracy).Within(2e-4));
    }

    [Test]
    public void Prediction_is_the_same_on_every_thread_count()
    {
        var model = PredictionFixtures.SmallMlp(seed: 22);
        var data = PredictionFixtures.RandomImages(model.InputShape, 300, seed: 2);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(0.05);
        var one = AccuracyPrediction.Propagate(model, data, captured, errors, threads: 1);
        var two = AccuracyPrediction.Propagate(model, data, captured, errors, threads: 2);
        Assert.That(two.CorrectProbability, Is.EqualTo(one.CorrectProbability));
        Assert.That(two.MeanFlipFraction, Is.EqualTo(one.MeanFlipFraction));
    }

    [Test]
    public void Per_weight_sign_formulas_reduce_to_the_symmetric_ones()
    {
        var model = PredictionFixtures.SmallMlp(seed: 23);
        var data = PredictionFixtures.RandomImages(model.InputShape, 200, seed: 3);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(0.08);
        var symmetric = AccuracyPrediction.Propagate(model, data, captured, errors, 1, forceGeneral: false);
        var general = AccuracyPrediction.Propagate(model, data, captured, errors, 1, forceGeneral: true);
        Assert.That(general.MeanFlipFraction, Is.EqualTo(symmetric.MeanFlipFraction).Within(1e-5));
        Assert.That(general.Accuracy, Is.EqualTo(symmetric.Accuracy).Within(2e-3), "only float rounding and the sampled integral differ");
    }

    [Test]
    public void With_exact_inputs_a_hidden_block_follows_the_exact_flip_probabilities()
    {
        // Make block 0 constant (threshold int.MinValue: always +1), so nothing flips there and block 1 sees exact inputs;
        // the propagation's normal approximation of block 1 must then track FlipPrediction's exact distribution.
        var random = PredictionFixtures.SmallMlp(seed: 24, hidden: "dense300,dense128");
        var layers = random.Layers.ToList();
        var first = (ThresholdLayer)layers[1];
        int c = first.InputShape.Channels;
        layers[1] = new ThresholdLayer(first.InputShape, Enumerable.Repeat(int.MinValue, c).ToArray(), Enumerable.Repeat(true, c).ToArray());
        // Block 1 thresholds near the middle of its sums so that flips are common.
        var w1 = ((BinaryDense)layers[2]).Weights;
        var t1 = Enumerable.Range(0, w1.Rows).Select(j => 2 * PopCountRow(w1, j) - w1.Columns + (j % 7 - 3)).ToArray();
        layers[3] = new ThresholdLayer(TensorShape.Vector(w1.Rows), t1, Enumerable.Range(0, w1.Rows).Select(j => j % 3 != 0).ToArray());
        var model = new BnnModel(random.InputShape, layers);
        var data = PredictionFixtures.RandomImages(model.InputShape, 20, seed: 4);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(0.03);
        var exact = FlipPrediction.Predict(model, captured, 1, errors);
        var propagated = AccuracyPrediction.Propagate(model, data, captured, errors);
        TestContext.Out.WriteLine($"block 1: exact {exact.MeanFlipFraction:F4}, propagated (normal approximation) {propagated.MeanFlipFraction[1]:F4}");
        Assert.That(propagated.MeanFlipFraction[0], Is.EqualTo(0));
        Assert.That(exact.MeanFlipFraction, Is.GreaterThan(0.05), "the case must not be trivial");
        Assert.That(propagated.MeanFlipFraction[1], Is.EqualTo(exact.MeanFlipFraction).Within(0.01));
    }

    private static int PopCountRow(BitMatrix w, int row)
    {
        int c = 0;
        foreach (ulong x in w.Row(row)) c += (int)ulong.PopCount(x);
        return c;
    }

    [Test]
    public void Shipped_mlp_prediction_tracks_monte_carlo()
    {
        var model = PredictionFixtures.Shipped("fmnist-mlp-bft0");
        var data = PredictionFixtures.TestImages(400);
        var captured = PredictionFixtures.Capture(model, data);
        const double p = 0.05;
        var errors = new UniformBitErrors(p);
        var predicted = AccuracyPrediction.Propagate(model, data, captured, errors);
        var curve = MonteCarlo.UniformCurve(model, data, [p], trials: 10, seed: 1, threads: 2);

        // Flip fractions of the hidden blocks measured on the same 10 patterns, whole model corrupted.
        var measuredFlips = new double[2];
        for (int k = 0; k < 10; k++)
        {
            var (corrupted, _) = ErrorInjection.Corrupt(model, errors, ErrorInjection.TrialRandom(1, k));
            var run = new InferenceEngine(corrupted).Run(data.Pixels, data.Count, 2, captureLayers: true);
            for (int b = 0; b < 2; b++)
            {
                var clean = captured.Layers![b].Outputs!.Words;
                var now = run.Layers![b].Outputs!.Words;
                long d = 0;
                for (int i = 0; i < clean.Length; i++) d += (long)ulong.PopCount(clean[i] ^ now[i]);
                measuredFlips[b] += d / (400.0 * 2048) / 10;
            }
        }
        TestContext.Out.WriteLine($"p = {p}, 400 images: predicted accuracy {predicted.Accuracy:F4}, Monte-Carlo {curve.Points[0].Mean:F4}; " +
            $"flip fractions predicted {predicted.MeanFlipFraction[0]:F4}, {predicted.MeanFlipFraction[1]:F4}, measured {measuredFlips[0]:F4}, {measuredFlips[1]:F4}");
        Assert.That(predicted.MeanFlipFraction[0], Is.EqualTo(measuredFlips[0]).Within(0.01));
        Assert.That(predicted.MeanFlipFraction[1], Is.EqualTo(measuredFlips[1]).Within(0.01));
        // The propagation drops correlations between flips, which makes it optimistic by one to two points on this model
        // (see the README); a bound of 4 points catches a broken propagation without pretending to more.
        Assert.That(predicted.Accuracy, Is.EqualTo(curve.Points[0].Mean).Within(0.04));
    }

    [Test]
    public void Correct_probability_handles_ties_and_known_normals()
    {
        var chol = new double[4];
        // Equal logits, no noise: the tie goes to the lowest index.
        Assert.That(AccuracyPrediction.CorrectProbability([0, 0], 0, [0, 0], [0, 0, 0, 0], chol, 0), Is.EqualTo(1));
        Assert.That(AccuracyPrediction.CorrectProbability([0, 0], 1, [0, 0], [0, 0, 0, 0], chol, 0), Is.EqualTo(0));
        // Logits 10 and 0, label 0, D_0 - D_1 ~ N(0, 9): correct iff 10 + 2U >= 0, U >= -5 on the integers,
        // read as U > -5.5: Phi(5.5 / 3) = 0.96662. The integral is sampled (256 antithetic draws), so allow 0.03.
        double p = AccuracyPrediction.CorrectProbability([10, 0], 0, [0, 0], [4.5, 0, 0, 4.5], chol, 7);
        Assert.That(p, Is.EqualTo(0.966623).Within(0.03));
        // Far apart: decided by the normal tails without sampling.
        Assert.That(AccuracyPrediction.CorrectProbability([1000, 0], 0, [0, 0], [1, 0, 0, 1], chol, 0), Is.EqualTo(1).Within(1e-12));
    }

    [Test]
    public void Cholesky_of_a_semidefinite_matrix_reproduces_it()
    {
        double[] a = [4, 2, 2, 2, 1, 1, 2, 1, 3]; // rank-deficient leading block: row 2 = row 1 / 2 in the first two columns
        var l = new double[9];
        AccuracyPrediction.Cholesky(a, 3, l);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double s = 0;
                for (int t = 0; t < 3; t++) s += l[i * 3 + t] * l[j * 3 + t];
                Assert.That(s, Is.EqualTo(a[i * 3 + j]).Within(1e-12), $"({i}, {j})");
            }
    }

    [Test]
    public void A_conv_output_block_is_not_supported_and_captured_activations_are_required()
    {
        // A 3x3 conv on a 1x1 map makes a valid output block; the propagation needs a dense one.
        var random = new Random(2);
        var input = new TensorShape(1, 1, 4);
        var convOut = new BnnModel(input, [
            new BinaryDense(input, BitMatrix.Random(8, 4, random)),
            new ThresholdLayer(TensorShape.Vector(8), new int[8], Enumerable.Repeat(true, 8).ToArray()),
            new BinaryConv2d(new TensorShape(1, 1, 8), BitMatrix.Random(10, 72, random)),
        ]);
        var data = PredictionFixtures.RandomImages(input, 5, seed: 1);
        Assert.That(() => AccuracyPrediction.Predict(convOut, data, PredictionFixtures.Capture(convOut, data), new UniformBitErrors(0.1)),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("dense output block"));

        var mlp = PredictionFixtures.SmallMlp(seed: 25);
        var mlpData = PredictionFixtures.RandomImages(mlp.InputShape, 5, seed: 1);
        var plain = new InferenceEngine(mlp).Run(mlpData.Pixels, mlpData.Count);
        Assert.That(() => AccuracyPrediction.Predict(mlp, mlpData, plain, new UniformBitErrors(0.1)), Throws.ArgumentException);

        // Conv blocks recompute their pre-pool pre-activations and refuse activations captured from another model.
        var conv = ModelBuilder.FromSpec("conv4,pool,conv4,pool,dense8,dense10", new TensorShape(6, 6, 1), new Random(2));
        var other = ModelBuilder.FromSpec("conv4,pool,conv4,pool,dense8,dense10", new TensorShape(6, 6, 1), new Random(3));
        var convData = PredictionFixtures.RandomImages(conv.InputShape, 5, seed: 1);
        Assert.That(() => AccuracyPrediction.Predict(conv, convData, PredictionFixtures.Capture(other, convData), new UniformBitErrors(0.1)),
            Throws.ArgumentException.With.Message.Contains("do not match the model"));
    }
}
