using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

[TestFixture]
public class MarginCrossEntropyLossTests
{
    [Test]
    public void NameAndParameters()
    {
        var mcel = new MarginCrossEntropyLoss(3);
        Assert.That(mcel.Name, Is.EqualTo("mcel"));
        Assert.That(mcel.Margin, Is.EqualTo(3));
        Assert.That(mcel.Limit, Is.EqualTo(100));
        var custom = new MarginCrossEntropyLoss(0.5, limit: 20);
        Assert.That(custom.Margin, Is.EqualTo(0.5));
        Assert.That(custom.Limit, Is.EqualTo(20));
    }

    [Test]
    public void WithoutMarginAndWithTinyLogitsItIsCrossEntropy()
    {
        var random = new Random(41);
        const int batch = 7, classes = 10;
        var logits = new float[batch * classes];
        for (int j = 0; j < logits.Length; j++)
            logits[j] = (float)((random.NextDouble() * 2 - 1) * 0.05); // tanh(y/100) = y/100 to ~1e-7 relative
        var labels = LossTestSupport.Labels(random, batch, classes);
        var (mcel, mcelGradient) = LossTestSupport.Run(new MarginCrossEntropyLoss(0), logits, labels, classes);
        var (ce, ceGradient) = LossTestSupport.Run(new CrossEntropyLoss(), logits, labels, classes);
        Assert.That(mcel, Is.EqualTo(ce).Within(1e-6));
        for (int j = 0; j < logits.Length; j++)
            Assert.That(mcelGradient[j], Is.EqualTo(ceGradient[j]).Within(1e-7f), $"entry {j}");
    }

    [TestCase(0.0)]
    [TestCase(1.0)]
    [TestCase(10.0)]
    [TestCase(250.0)]
    public void ZeroLogitsByHand(double m)
    {
        // y = [0, 0], label 0: z' = [-m, 0], loss = log(1 + e^m), dL/dy_0 = -e^m / (1 + e^m) = -dL/dy_1 (tanh slope 1).
        var (loss, gradient) = LossTestSupport.Run(new MarginCrossEntropyLoss(m), [0f, 0f], [0], 2);
        double expectedLoss = m + Math.Log(1 + Math.Exp(-m));
        double p = 1 / (1 + Math.Exp(-m));
        Assert.That(loss, Is.EqualTo(expectedLoss).Within(1e-12 * Math.Max(1, m)));
        Assert.That((double)gradient[0], Is.EqualTo(-p).Within(1e-7));
        Assert.That((double)gradient[1], Is.EqualTo(p).Within(1e-7));
    }

    [Test]
    public void SquashedLogitsByHand()
    {
        // L = 10, y = [10, -5, 0], label 2, m = 1: z' = [10 tanh 1, -10 tanh 0.5, -1].
        const double limit = 10, m = 1;
        var (loss, gradient) = LossTestSupport.Run(new MarginCrossEntropyLoss(m, limit), [10f, -5f, 0f], [2], 3);
        double[] t = [Math.Tanh(1), Math.Tanh(-0.5), 0];
        double[] z = [limit * t[0], limit * t[1], -m];
        double sum = z.Sum(Math.Exp);
        Assert.That(loss, Is.EqualTo(Math.Log(sum) - z[2]).Within(1e-12));
        for (int k = 0; k < 3; k++)
        {
            double expected = (Math.Exp(z[k]) / sum - (k == 2 ? 1 : 0)) * (1 - t[k] * t[k]);
            Assert.That((double)gradient[k], Is.EqualTo(expected).Within(1e-7));
        }
    }

    [Test]
    public void LossIsBoundedBecauseLogitsSaturate()
    {
        // |z| < L, so the per-sample loss stays below 2L + m + log(classes) however large y is.
        const double m = 4, limit = 100;
        var mcel = new MarginCrossEntropyLoss(m, limit);
        var (loss, gradient) = LossTestSupport.Run(mcel, [float.MaxValue, float.MinValue, 300f], [1], 3);
        Assert.That(loss, Is.LessThanOrEqualTo(2 * limit + m + Math.Log(3)));
        Assert.That(loss, Is.GreaterThan(2 * limit * Math.Tanh(3)));
        // Saturated outputs pass (almost) no gradient.
        Assert.That(gradient[0], Is.EqualTo(0f));
        Assert.That(gradient[1], Is.EqualTo(0f));
        Assert.That(gradient.All(float.IsFinite), Is.True);
    }

    [Test]
    public void LargerMarginGivesLargerLoss()
    {
        var random = new Random(43);
        const int batch = 6, classes = 10;
        var logits = LossTestSupport.DyadicLogits(random, batch * classes, 150);
        var labels = LossTestSupport.Labels(random, batch, classes);
        double previous = double.NegativeInfinity;
        foreach (double m in new[] { 0.0, 0.5, 2, 8, 32 })
        {
            var (loss, _) = LossTestSupport.Run(new MarginCrossEntropyLoss(m), logits, labels, classes);
            Assert.That(loss, Is.GreaterThan(previous), $"m = {m}");
            previous = loss;
        }
    }
}
