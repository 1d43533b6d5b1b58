using HilBench.Bnn.Layers;
using HilBench.Bnn.Tensors;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Layers;

[TestFixture]
public class ThresholdLayerTests
{
    /// <summary>Batch norm then sign, computed in double: the definition the folded threshold must reproduce.</summary>
    private static bool BatchNormSign(int a, double gamma, double beta, double mean, double variance, double eps) =>
        gamma * (a - mean) / Math.Sqrt(variance + eps) + beta >= 0;

    [Test]
    public void FoldedThresholdGivesExactlyTheBatchNormOutputs()
    {
        var r = new Random(7);
        const int channels = 500;
        var gamma = new double[channels];
        var beta = new double[channels];
        var mean = new double[channels];
        var variance = new double[channels];
        for (int j = 0; j < channels; j++)
        {
            gamma[j] = j % 50 == 0 ? 0 : (r.NextDouble() - 0.5) * 4;
            beta[j] = (r.NextDouble() - 0.5) * 6;
            mean[j] = (r.NextDouble() - 0.5) * 200;
            variance[j] = r.NextDouble() * 900;
            if (j % 7 == 0) mean[j] = Math.Round(mean[j]); // boundaries exactly on integers
            if (j % 7 == 0) beta[j] = 0;
        }
        const double eps = 1e-5;
        var layer = ThresholdLayer.FromBatchNorm(TensorShape.Vector(channels), gamma, beta, mean, variance, eps);
        for (int j = 0; j < channels; j++)
            for (int a = -300; a <= 300; a++)
                Assert.That(layer.Output(j, a), Is.EqualTo(BatchNormSign(a, gamma[j], beta[j], mean[j], variance[j], eps)),
                    $"channel {j}, a = {a}, gamma {gamma[j]}, beta {beta[j]}, mean {mean[j]}");
    }

    [Test]
    public void NegativeGammaGivesDescendingOrientation()
    {
        var layer = ThresholdLayer.FromBatchNorm(TensorShape.Vector(1), [-1.0], [0.0], [3.0], [1.0], 0);
        Assert.That(layer.Ascending[0], Is.False);
        Assert.That(layer.Thresholds[0], Is.EqualTo(3));
        Assert.That(layer.Output(0, 3), Is.True);
        Assert.That(layer.Output(0, 4), Is.False);
    }

    [Test]
    public void ZeroGammaIsAConstantOutput()
    {
        var layer = ThresholdLayer.FromBatchNorm(TensorShape.Vector(2), [0.0, 0.0], [0.5, -0.5], [0.0, 0.0], [1.0, 1.0], 1e-5);
        Assert.That(layer.Output(0, int.MinValue + 1), Is.True);
        Assert.That(layer.Output(1, int.MaxValue - 1), Is.False);
    }

    [Test]
    public void MismatchedLengthsAreRefused() =>
        Assert.That(() => new ThresholdLayer(TensorShape.Vector(3), new int[2], new bool[3]), Throws.ArgumentException.With.Message.Contains("3 thresholds"));

    [TestCase(double.NaN, 1.0, 0.0, 1.0, "gamma is NaN")]
    [TestCase(1.0, double.PositiveInfinity, 0.0, 1.0, "the beta is")]
    [TestCase(1.0, 0.0, double.NaN, 1.0, "running mean is NaN")]
    [TestCase(1.0, 0.0, 0.0, double.NaN, "running variance is NaN")]
    [TestCase(1.0, 0.0, 0.0, double.NegativeInfinity, "the running variance is")]
    [TestCase(1.0, 0.0, 0.0, -1.0, "variance + eps")]
    public void InvalidStatisticsAreRefusedNamingTheChannel(double gamma, double beta, double mean, double variance, string cause)
    {
        // Channel 0 is valid; channel 1 holds the bad value.
        Assert.That(() => ThresholdLayer.FromBatchNorm(TensorShape.Vector(2), [1.0, gamma], [0.0, beta], [0.0, mean], [1.0, variance], 1e-5),
            Throws.ArgumentException.With.Message.Contains("channel 1").And.Message.Contains(cause));
    }

    [Test]
    public void NonFiniteStatisticsSuggestALowerLearningRate() =>
        Assert.That(() => ThresholdLayer.FromBatchNorm(TensorShape.Vector(1), [double.NaN], [0.0], [0.0], [1.0], 1e-5),
            Throws.ArgumentException.With.Message.Contains("lower the learning rate"));

    [Test]
    public void ZeroVariancePlusZeroEpsIsRefused() =>
        Assert.That(() => ThresholdLayer.FromBatchNorm(TensorShape.Vector(1), [1.0], [0.0], [0.0], [0.0], 0),
            Throws.ArgumentException.With.Message.Contains("use eps > 0"));
}
