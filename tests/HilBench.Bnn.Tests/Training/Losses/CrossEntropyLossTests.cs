using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

[TestFixture]
public class CrossEntropyLossTests
{
    private readonly CrossEntropyLoss _ce = new();

    [Test]
    public void NameIsCe() => Assert.That(_ce.Name, Is.EqualTo("ce"));

    [TestCase(2)]
    [TestCase(10)]
    [TestCase(300)]
    public void EqualLogitsGiveLogOfClassCount(int classes)
    {
        const int batch = 3;
        foreach (float value in new[] { 0f, -7.25f, 250f })
        {
            var logits = Enumerable.Repeat(value, batch * classes).ToArray();
            byte[] labels = [0, (byte)(classes - 1), (byte)(classes / 2)];
            var (loss, gradient) = LossTestSupport.Run(_ce, logits, labels, classes);
            Assert.That(loss, Is.EqualTo(Math.Log(classes)).Within(1e-12));
            for (int i = 0; i < batch; i++)
                for (int k = 0; k < classes; k++)
                {
                    double expected = (1.0 / classes - (k == labels[i] ? 1 : 0)) / batch;
                    Assert.That((double)gradient[i * classes + k], Is.EqualTo(expected).Within(1e-7 * Math.Abs(expected)));
                }
        }
    }

    [Test]
    public void TwoClassValuesByHand()
    {
        // y = [2, 0], label 0: loss = log(1 + e^-2); dL/dy_0 = sigmoid(2) - 1, dL/dy_1 = 1 - sigmoid(2).
        var (loss, gradient) = LossTestSupport.Run(_ce, [2f, 0f], [0], 2);
        double s = 1 / (1 + Math.Exp(-2));
        Assert.That(loss, Is.EqualTo(Math.Log(1 + Math.Exp(-2))).Within(1e-14));
        Assert.That((double)gradient[0], Is.EqualTo(s - 1).Within(1e-7));
        Assert.That((double)gradient[1], Is.EqualTo(1 - s).Within(1e-7));
    }

    [Test]
    public void LargeLogitsAreStable()
    {
        // The wrong class is ahead by 600: loss = 600 exactly (up to e^-600), gradient [1, -1].
        var (wrong, wrongGradient) = LossTestSupport.Run(_ce, [300f, -300f], [1], 2);
        Assert.That(wrong, Is.EqualTo(600).Within(1e-12));
        Assert.That(wrongGradient, Is.EqualTo(new[] { 1f, -1f }));

        var (right, rightGradient) = LossTestSupport.Run(_ce, [300f, -300f], [0], 2);
        Assert.That(right, Is.EqualTo(0).Within(1e-200));
        Assert.That(rightGradient[0], Is.EqualTo(0f).Within(1e-30f));
        Assert.That(rightGradient[1], Is.EqualTo(0f).Within(1e-30f));

        var (huge, hugeGradient) = LossTestSupport.Run(_ce, [float.MaxValue, float.MinValue], [1], 2);
        Assert.That(huge, Is.EqualTo(2.0 * float.MaxValue).Within(1e25));
        Assert.That(hugeGradient, Is.EqualTo(new[] { 1f, -1f }));
    }

    [Test]
    public void AddingAConstantToASamplesLogitsChangesNothing()
    {
        var random = new Random(17);
        const int batch = 8, classes = 10;
        var logits = LossTestSupport.DyadicLogits(random, batch * classes, 50);
        var labels = LossTestSupport.Labels(random, batch, classes);
        var (loss, gradient) = LossTestSupport.Run(_ce, logits, labels, classes);

        var shifted = (float[])logits.Clone();
        for (int i = 0; i < batch; i++)
        {
            float c = (float)(Math.Round((random.NextDouble() * 2 - 1) * 200 * 16) / 16); // exact in float
            for (int k = 0; k < classes; k++)
                shifted[i * classes + k] += c;
        }
        var (shiftedLoss, shiftedGradient) = LossTestSupport.Run(_ce, shifted, labels, classes);
        Assert.That(shiftedLoss, Is.EqualTo(loss).Within(1e-12 * Math.Max(1, loss)));
        for (int j = 0; j < gradient.Length; j++)
            Assert.That(shiftedGradient[j], Is.EqualTo(gradient[j]).Within(1e-7f), $"entry {j}");
    }

    [Test]
    public void EachSamplesGradientSumsToZeroAndPointsDownAtTheLabel()
    {
        var random = new Random(23);
        const int batch = 12, classes = 10;
        var logits = LossTestSupport.DyadicLogits(random, batch * classes, 300);
        var labels = LossTestSupport.Labels(random, batch, classes);
        var (_, gradient) = LossTestSupport.Run(_ce, logits, labels, classes);
        for (int i = 0; i < batch; i++)
        {
            double sum = 0;
            for (int k = 0; k < classes; k++)
            {
                float g = gradient[i * classes + k];
                sum += g;
                if (k == labels[i]) Assert.That(g, Is.LessThanOrEqualTo(0f));
                else Assert.That(g, Is.GreaterThanOrEqualTo(0f));
            }
            Assert.That(sum, Is.EqualTo(0).Within(1e-7), $"sample {i}");
        }
    }

    [Test]
    public void MatchesTheDefinitionComputedDirectly()
    {
        var random = new Random(31);
        const int batch = 5, classes = 7;
        var logits = LossTestSupport.DyadicLogits(random, batch * classes, 5); // small: the naive formula is safe
        var labels = LossTestSupport.Labels(random, batch, classes);
        var (loss, _) = LossTestSupport.Run(_ce, logits, labels, classes);
        double expected = 0;
        for (int i = 0; i < batch; i++)
        {
            double sum = 0;
            for (int k = 0; k < classes; k++)
                sum += Math.Exp(logits[i * classes + k]);
            expected += -Math.Log(Math.Exp(logits[i * classes + labels[i]]) / sum);
        }
        Assert.That(loss, Is.EqualTo(expected / batch).Within(1e-12));
    }
}
