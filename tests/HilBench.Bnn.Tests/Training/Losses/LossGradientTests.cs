using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

/// <summary>Properties every loss must have: a correct gradient, finiteness on large logits, batch means.</summary>
[TestFixture]
public class LossGradientTests
{
    private static IEnumerable<TestCaseData> Losses()
    {
        yield return new TestCaseData(new CrossEntropyLoss()).SetArgDisplayNames("ce");
        yield return new TestCaseData(new ModifiedHingeLoss()).SetArgDisplayNames("mhl b=128");
        yield return new TestCaseData(new ModifiedHingeLoss(3.5)).SetArgDisplayNames("mhl b=3.5");
        yield return new TestCaseData(new MarginCrossEntropyLoss(0)).SetArgDisplayNames("mcel m=0");
        yield return new TestCaseData(new MarginCrossEntropyLoss(5)).SetArgDisplayNames("mcel m=5");
        yield return new TestCaseData(new MarginCrossEntropyLoss(2, limit: 10)).SetArgDisplayNames("mcel m=2 L=10");
    }

    private static readonly (int Batch, int Classes, double Range)[] Shapes =
    [
        (1, 2, 4), (1, 10, 30), (3, 2, 200), (5, 10, 8), (16, 10, 150), (4, 7, 300), (2, 300, 50), (1, 256, 400),
    ];

    /// <summary>The hinge is not differentiable at b - t*y = 0: keep finite-difference probes off the kinks.</summary>
    private static void MoveOffKinks(ILoss loss, float[] logits)
    {
        if (loss is not ModifiedHingeLoss mhl) return;
        for (int j = 0; j < logits.Length; j++)
            if (Math.Abs(Math.Abs(logits[j]) - mhl.Margin) <= 4 * LossTestSupport.Step)
                logits[j] = (float)(logits[j] * 0.5);
    }

    [TestCaseSource(nameof(Losses))]
    public void GradientMatchesCentralFiniteDifferences(ILoss loss)
    {
        var random = new Random(20240611);
        foreach (var (batch, classes, range) in Shapes)
        {
            var logits = LossTestSupport.DyadicLogits(random, batch * classes, range);
            MoveOffKinks(loss, logits);
            var labels = LossTestSupport.Labels(random, batch, classes);
            LossTestSupport.AssertGradientMatchesFiniteDifferences(loss, logits, labels, classes);
        }
    }

    [TestCaseSource(nameof(Losses))]
    public void GradientMatchesFiniteDifferencesAroundTheMargin(ILoss loss)
    {
        // Logits on the scale of each loss's margin, where the hinge switches and the tanh bends.
        var random = new Random(99);
        double scale = loss switch
        {
            ModifiedHingeLoss m => m.Margin,
            MarginCrossEntropyLoss m => m.Limit,
            _ => 10,
        };
        var logits = LossTestSupport.DyadicLogits(random, 8 * 10, Math.Min(2 * scale, 500));
        MoveOffKinks(loss, logits);
        var labels = LossTestSupport.Labels(random, 8, 10);
        LossTestSupport.AssertGradientMatchesFiniteDifferences(loss, logits, labels, 10);
    }

    [TestCaseSource(nameof(Losses))]
    public void LargeLogitsGiveFiniteLossAndGradient(ILoss loss)
    {
        float[][] cases =
        [
            [300f, -300f, 300f, -300f],
            [-300f, 300f, -300f, 300f],
            [300f, 300f, 300f, 300f],
            [-300f, -300f, -300f, -300f],
            [1e30f, -1e30f, 0f, 0f],
            [float.MaxValue, float.MinValue, float.MaxValue, float.MinValue],
        ];
        foreach (var logits in cases)
            for (byte label = 0; label < 4; label++)
            {
                var (value, gradient) = LossTestSupport.Run(loss, logits, [label], 4);
                Assert.That(double.IsFinite(value) && value >= 0, Is.True, $"loss {value} for [{string.Join(", ", logits)}], label {label}");
                Assert.That(gradient.All(float.IsFinite), Is.True, $"gradient [{string.Join(", ", gradient)}]");
                Assert.That(gradient.All(g => Math.Abs(g) <= 1.0f), Is.True, $"gradient [{string.Join(", ", gradient)}]");
            }

        var random = new Random(3);
        var big = new float[64 * 10];
        for (int j = 0; j < big.Length; j++)
            big[j] = random.Next(2) == 0 ? 300f : -300f;
        var labels = LossTestSupport.Labels(random, 64, 10);
        var (bigValue, bigGradient) = LossTestSupport.Run(loss, big, labels, 10);
        Assert.That(double.IsFinite(bigValue), Is.True);
        Assert.That(bigGradient.All(float.IsFinite), Is.True);
    }

    [TestCaseSource(nameof(Losses))]
    public void BatchLossIsTheMeanOfSampleLossesAndGradientIsScaledByBatchSize(ILoss loss)
    {
        var random = new Random(11);
        const int batch = 6, classes = 5;
        var logits = LossTestSupport.DyadicLogits(random, batch * classes, 200);
        var labels = LossTestSupport.Labels(random, batch, classes);
        var (value, gradient) = LossTestSupport.Run(loss, logits, labels, classes);

        double sum = 0;
        for (int i = 0; i < batch; i++)
        {
            var (one, oneGradient) = LossTestSupport.Run(loss, logits[(i * classes)..((i + 1) * classes)], [labels[i]], classes);
            sum += one;
            for (int k = 0; k < classes; k++)
                Assert.That(gradient[i * classes + k], Is.EqualTo(oneGradient[k] / batch).Within(1e-6 * Math.Abs(oneGradient[k]) + 1e-12),
                    $"sample {i}, class {k}");
        }
        Assert.That(value, Is.EqualTo(sum / batch).Within(1e-12 * Math.Max(1, sum)));
    }

    [TestCaseSource(nameof(Losses))]
    public void ComputeDoesNotChangeItsInputsAndIsRepeatable(ILoss loss)
    {
        var random = new Random(5);
        var logits = LossTestSupport.DyadicLogits(random, 4 * 10, 100);
        var labels = LossTestSupport.Labels(random, 4, 10);
        var logitsCopy = (float[])logits.Clone();
        var labelsCopy = (byte[])labels.Clone();
        var first = LossTestSupport.Run(loss, logits, labels, 10);
        var second = LossTestSupport.Run(loss, logits, labels, 10);
        Assert.That(logits, Is.EqualTo(logitsCopy));
        Assert.That(labels, Is.EqualTo(labelsCopy));
        Assert.That(second.Loss, Is.EqualTo(first.Loss));
        Assert.That(second.Gradient, Is.EqualTo(first.Gradient));
    }
}
