using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

[TestFixture]
public class ModifiedHingeLossTests
{
    [Test]
    public void NameAndDefaultMargin()
    {
        var mhl = new ModifiedHingeLoss();
        Assert.That(mhl.Name, Is.EqualTo("mhl"));
        Assert.That(mhl.Margin, Is.EqualTo(128));
        Assert.That(new ModifiedHingeLoss(7.5).Margin, Is.EqualTo(7.5));
    }

    [TestCase(2, 1)]
    [TestCase(10, 4)]
    [TestCase(10, 1)]
    [TestCase(300, 2)]
    public void AllZeroLogitsGiveOneAndTheFullGradient(int classes, int batch)
    {
        const double b = 128;
        var logits = new float[batch * classes];
        var labels = new byte[batch];
        for (int i = 0; i < batch; i++) labels[i] = (byte)((i * 3) % classes);
        var (loss, gradient) = LossTestSupport.Run(new ModifiedHingeLoss(b), logits, labels, classes);
        Assert.That(loss, Is.EqualTo(1.0).Within(1e-15));
        for (int i = 0; i < batch; i++)
            for (int k = 0; k < classes; k++)
            {
                double t = k == labels[i] ? 1 : -1;
                double expected = -t / (b * classes * batch);
                Assert.That((double)gradient[i * classes + k], Is.EqualTo(expected).Within(1e-7 * Math.Abs(expected)));
            }
    }

    [Test]
    public void ZeroWhenEveryOutputClearsTheMarginIncludingExactlyAtTheMargin()
    {
        const double b = 128;
        // Label 1 at or above +b, the others at or below -b; the ties (exactly +-b) get loss 0 and gradient 0.
        float[] logits = [-128f, 128f, -500f, -128.5f, 300f, -128f];
        byte[] labels = [1, 1];
        var (loss, gradient) = LossTestSupport.Run(new ModifiedHingeLoss(b), logits, labels, 3);
        Assert.That(loss, Is.EqualTo(0));
        Assert.That(gradient, Is.All.EqualTo(0f));
    }

    [Test]
    public void ValueAndGradientByHand()
    {
        // b = 128, y = [64, 0], label 0: hinges 128 - 64 = 64 and 128 + 0 = 128, loss = (64 + 128) / 128 / 2 = 0.75.
        var (loss, gradient) = LossTestSupport.Run(new ModifiedHingeLoss(), [64f, 0f], [0], 2);
        Assert.That(loss, Is.EqualTo(0.75).Within(1e-15));
        Assert.That(gradient, Is.EqualTo(new[] { (float)(-1.0 / 256), (float)(1.0 / 256) }));

        // b = 4, y = [1, 5, -6], label 1: hinges 4 + 1 = 5 (active), 4 - 5 < 0, 4 - 6 < 0 -> loss = 5 / 4 / 3.
        var (loss2, gradient2) = LossTestSupport.Run(new ModifiedHingeLoss(4), [1f, 5f, -6f], [1], 3);
        Assert.That(loss2, Is.EqualTo(5.0 / 12).Within(1e-15));
        Assert.That(gradient2, Is.EqualTo(new[] { (float)(1.0 / 12), 0f, 0f }));
    }

    [Test]
    public void LossIsLinearInsideTheMarginAndGrowsWithWrongConfidence()
    {
        // Wrongly confident outputs are penalised without bound (the loss is not saturating).
        var mhl = new ModifiedHingeLoss(10);
        var (near, _) = LossTestSupport.Run(mhl, [0f, 20f], [0], 2);
        var (far, _) = LossTestSupport.Run(mhl, [0f, 300f], [0], 2);
        Assert.That(near, Is.EqualTo((10 + 30) / 10.0 / 2).Within(1e-15));
        Assert.That(far, Is.EqualTo((10 + 310) / 10.0 / 2).Within(1e-15));
    }
}
