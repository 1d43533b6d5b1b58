using HilBench.Bnn.Errors;
using HilBench.Bnn.Inference;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Metrics.Predictions;
using HilBench.Metrics.Tests.Support;

namespace HilBench.Metrics.Tests.Predictions;

public class FlipPredictionTests
{
    /// <summary>
    /// P(flip) per neuron of block 1 by enumerating every subset of flipped weights (2^n of them), each with its exact
    /// probability: a stored 1 flips with p10, a stored 0 with p01.
    /// </summary>
    private static double[] Enumerated(BnnModel model, InferenceResult captured, int block, double p01, double p10)
    {
        var w = model.Blocks[block].Linear.Weights;
        var t = model.Blocks[block].Threshold!;
        var x = captured.Layers![block - 1].Outputs!;
        int n = w.Columns;
        var per = new double[w.Rows];
        for (int j = 0; j < w.Rows; j++)
        {
            for (int m = 0; m < captured.Count; m++)
            {
                int a = 0;
                for (int i = 0; i < n; i++) a += w.Sign(j, i) * (x[m, i] ? 1 : -1);
                bool clean = t.Output(j, a);
                for (int mask = 0; mask < 1 << n; mask++)
                {
                    double prob = 1;
                    int changed = a;
                    for (int i = 0; i < n; i++)
                    {
                        double rate = w[j, i] ? p10 : p01;
                        bool flips = (mask >> i & 1) != 0;
                        prob *= flips ? rate : 1 - rate;
                        if (flips) changed -= 2 * w.Sign(j, i) * (x[m, i] ? 1 : -1);
                    }
                    if (t.Output(j, changed) != clean) per[j] += prob;
                }
            }
            per[j] /= captured.Count;
        }
        return per;
    }

    [TestCase(0.1)]
    [TestCase(0.37)]
    public void Symmetric_prediction_equals_enumeration_of_every_flip_pattern(double p)
    {
        var model = PredictionFixtures.SmallFanIn(n: 9, neurons: 14, seed: 4);
        var data = PredictionFixtures.RandomImages(model.InputShape, 40, seed: 2, classes: 3);
        var captured = PredictionFixtures.Capture(model, data);
        var expected = Enumerated(model, captured, 1, p, p);
        var table = FlipPrediction.Predict(model, captured, 1, new UniformBitErrors(p));
        var general = FlipPrediction.Predict(model, captured, 1, new UniformBitErrors(p), int.MaxValue, forceGeneral: true);
        Assert.That(table.PerNeuron, Is.EqualTo(expected).Within(1e-12));
        Assert.That(general.PerNeuron, Is.EqualTo(expected).Within(1e-12));
        Assert.That(table.MeanFlipFraction, Is.EqualTo(expected.Average()).Within(1e-12));
        Assert.That(table.Block, Is.EqualTo(1));
        Assert.That(expected, Has.Some.GreaterThan(0.05), "the case must not be trivial");
    }

    [TestCase(0.02, 0.3)]
    [TestCase(0.4, 0.05)]
    public void Asymmetric_prediction_equals_enumeration_of_every_flip_pattern(double p01, double p10)
    {
        var model = PredictionFixtures.SmallFanIn(n: 8, neurons: 12, seed: 5);
        var data = PredictionFixtures.RandomImages(model.InputShape, 40, seed: 3, classes: 3);
        var captured = PredictionFixtures.Capture(model, data);
        var expected = Enumerated(model, captured, 1, p01, p10);
        var predicted = FlipPrediction.Predict(model, captured, 1, new UniformBitErrors(p01, p10));
        Assert.That(predicted.PerNeuron, Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void Ties_at_the_threshold_follow_the_threshold_layer()
    {
        // Every neuron of this model sits exactly at its threshold for some images; enumeration (which calls
        // ThresholdLayer.Output) and prediction must agree there too.
        var model = PredictionFixtures.SmallFanIn(n: 6, neurons: 16, seed: 9);
        var data = PredictionFixtures.RandomImages(model.InputShape, 60, seed: 4, classes: 3);
        var captured = PredictionFixtures.Capture(model, data);
        var t = model.Blocks[1].Threshold!;
        int ties = 0;
        for (int m = 0; m < data.Count; m++)
            for (int j = 0; j < 16; j++)
                if (captured.Layers![1].PreActivationsOf(m)[j] == t.Thresholds[j]) ties++;
        Assert.That(ties, Is.GreaterThan(20), "the fixture must produce ties");
        Assert.That(FlipPrediction.Predict(model, captured, 1, new UniformBitErrors(0.2)).PerNeuron,
            Is.EqualTo(Enumerated(model, captured, 1, 0.2, 0.2)).Within(1e-12));
    }

    [TestCase(0.05, 0.05)]
    [TestCase(0.01, 0.2)]
    public void Prediction_matches_monte_carlo_on_a_small_layer(double p01, double p10)
    {
        var model = PredictionFixtures.SmallMlp(seed: 12, hidden: "dense40,dense64");
        var data = PredictionFixtures.RandomImages(model.InputShape, 60, seed: 5);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(p01, p10);
        var predicted = FlipPrediction.Predict(model, captured, 1, errors);
        var measured = FlipPrediction.Measure(model, captured, 1, errors, patterns: 2000, seed: 3);
        // Per neuron the measured fraction averages 2000 independent patterns: sigma <= 0.5 / sqrt(2000) = 0.011 even if all
        // images flipped together; 5 sigma bounds each neuron, and the mean absolute error is far smaller.
        for (int j = 0; j < predicted.PerNeuron.Length; j++)
            Assert.That(measured.PerNeuron[j], Is.EqualTo(predicted.PerNeuron[j]).Within(0.056), $"neuron {j}");
        double mae = predicted.PerNeuron.Zip(measured.PerNeuron, (a, b) => Math.Abs(a - b)).Average();
        TestContext.Out.WriteLine($"p01 {p01} p10 {p10}: predicted {predicted.MeanFlipFraction:F4}, measured {measured.MeanFlipFraction:F4}, MAE {mae:F4}");
        Assert.That(mae, Is.LessThan(0.01));
    }

    [Test]
    public void Shipped_mlp_hidden_layer_prediction_matches_measurement()
    {
        var model = PredictionFixtures.Shipped("fmnist-mlp-bft0");
        var data = PredictionFixtures.TestImages(200);
        var captured = PredictionFixtures.Capture(model, data);
        foreach (double p in new[] { 0.01, 0.05 })
        {
            var errors = new UniformBitErrors(p);
            var predicted = FlipPrediction.Predict(model, captured, 1, errors);
            var measured = FlipPrediction.Measure(model, captured, 1, errors, patterns: 200, seed: 1);
            double mae = predicted.PerNeuron.Zip(measured.PerNeuron, (a, b) => Math.Abs(a - b)).Average();
            TestContext.Out.WriteLine($"block 1 (2048 neurons), 200 images, 200 patterns, p = {p}: predicted mean flip fraction {predicted.MeanFlipFraction:F5}, " +
                $"measured {measured.MeanFlipFraction:F5}, per-neuron MAE {mae:F5}");
            Assert.That(predicted.PerNeuron, Has.Length.EqualTo(2048));
            Assert.That(mae, Is.LessThanOrEqualTo(0.01), $"p = {p}");
            Assert.That(measured.MeanFlipFraction, Is.EqualTo(predicted.MeanFlipFraction).Within(0.002));
        }
    }

    [Test]
    public void Shipped_mlp_table_and_general_paths_agree()
    {
        var model = PredictionFixtures.Shipped("fmnist-mlp-bft0");
        var data = PredictionFixtures.TestImages(6);
        var captured = PredictionFixtures.Capture(model, data);
        var errors = new UniformBitErrors(0.03);
        var table = FlipPrediction.Predict(model, captured, 1, errors);
        var general = FlipPrediction.Predict(model, captured, 1, errors, int.MaxValue, forceGeneral: true);
        Assert.That(general.PerNeuron, Is.EqualTo(table.PerNeuron).Within(1e-12));
    }

    [Test]
    public void Max_images_limits_the_average_to_the_first_images()
    {
        var model = PredictionFixtures.SmallMlp(seed: 13);
        var data = PredictionFixtures.RandomImages(model.InputShape, 50, seed: 6);
        var captured = PredictionFixtures.Capture(model, data);
        var firstTen = PredictionFixtures.Capture(model, data.Take(10));
        var errors = new UniformBitErrors(0.1);
        Assert.That(FlipPrediction.Predict(model, captured, 1, errors, maxImages: 10).PerNeuron,
            Is.EqualTo(FlipPrediction.Predict(model, firstTen, 1, errors).PerNeuron).Within(1e-15));
    }

    [Test]
    public void Measure_is_repeatable_and_zero_without_errors()
    {
        var model = PredictionFixtures.SmallMlp(seed: 14);
        var data = PredictionFixtures.RandomImages(model.InputShape, 30, seed: 7);
        var captured = PredictionFixtures.Capture(model, data);
        var a = FlipPrediction.Measure(model, captured, 1, new UniformBitErrors(0.1), 20, seed: 5);
        var b = FlipPrediction.Measure(model, captured, 1, new UniformBitErrors(0.1), 20, seed: 5);
        Assert.That(b.PerNeuron, Is.EqualTo(a.PerNeuron));
        Assert.That(a.MeanFlipFraction, Is.GreaterThan(0));
        Assert.That(FlipPrediction.Measure(model, captured, 1, new UniformBitErrors(0), 5, seed: 5).PerNeuron, Is.All.EqualTo(0));
        Assert.That(FlipPrediction.Predict(model, captured, 1, new UniformBitErrors(0)).PerNeuron, Is.All.EqualTo(0));
    }

    [Test]
    public void Unsupported_blocks_say_why()
    {
        var mlp = PredictionFixtures.SmallMlp(seed: 15);
        var data = PredictionFixtures.RandomImages(mlp.InputShape, 5, seed: 8);
        var captured = PredictionFixtures.Capture(mlp, data);
        var errors = new UniformBitErrors(0.1);
        Assert.That(() => FlipPrediction.Predict(mlp, captured, 0, errors), Throws.TypeOf<NotSupportedException>().With.Message.Contains("pixels"));
        Assert.That(() => FlipPrediction.Predict(mlp, captured, 2, errors), Throws.TypeOf<NotSupportedException>().With.Message.Contains("output block"));
        Assert.That(() => FlipPrediction.Measure(mlp, captured, 0, errors, 1, 1), Throws.TypeOf<NotSupportedException>());
        Assert.Throws<ArgumentOutOfRangeException>(() => FlipPrediction.Predict(mlp, captured, 3, errors));

        var uncaptured = new InferenceEngine(mlp).Run(data.Pixels, data.Count);
        Assert.That(() => FlipPrediction.Predict(mlp, uncaptured, 1, errors), Throws.ArgumentException.With.Message.Contains("captureLayers"));

        var conv = ModelBuilder.FromSpec("conv4,pool,conv4,dense8,dense10", new TensorShape(6, 6, 1), new Random(1));
        var convData = PredictionFixtures.RandomImages(conv.InputShape, 5, seed: 9);
        var convCaptured = PredictionFixtures.Capture(conv, convData);
        Assert.That(() => FlipPrediction.Predict(conv, convCaptured, 1, errors), Throws.TypeOf<NotSupportedException>().With.Message.Contains("conv"));
        Assert.That(FlipPrediction.Predict(conv, convCaptured, 2, errors).PerNeuron, Has.Length.EqualTo(8), "a dense block after conv blocks is supported");
    }
}
