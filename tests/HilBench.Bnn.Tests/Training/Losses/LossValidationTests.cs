using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

[TestFixture]
public class LossValidationTests
{
    private static IEnumerable<TestCaseData> Losses()
    {
        yield return new TestCaseData(new CrossEntropyLoss()).SetArgDisplayNames("ce");
        yield return new TestCaseData(new ModifiedHingeLoss()).SetArgDisplayNames("mhl");
        yield return new TestCaseData(new MarginCrossEntropyLoss(1)).SetArgDisplayNames("mcel");
    }

    private static ArgumentException Refused(ILoss loss, float[] logits, byte[] labels, int classes, float[] gradient)
    {
        var before = (float[])gradient.Clone();
        var e = Assert.Throws<ArgumentException>(() => loss.Compute(logits, labels, classes, gradient))!;
        Assert.That(gradient, Is.EqualTo(before), "a refused call must not write the gradient");
        return e;
    }

    [TestCaseSource(nameof(Losses))]
    public void FewerThanTwoClassesAreRefused(ILoss loss)
    {
        Assert.That(Refused(loss, [1f], [0], 1, new float[1]).Message, Does.Contain("at least 2 classes"));
        Assert.That(Refused(loss, [], [], 0, []).ParamName, Is.EqualTo("classes"));
    }

    [TestCaseSource(nameof(Losses))]
    public void AnEmptyBatchIsRefused(ILoss loss) =>
        Assert.That(Refused(loss, [], [], 10, []).Message, Does.Contain("empty"));

    [TestCaseSource(nameof(Losses))]
    public void LogitsOfTheWrongLengthAreRefused(ILoss loss)
    {
        Assert.That(Refused(loss, new float[19], new byte[2], 10, new float[19]).ParamName, Is.EqualTo("logits"));
        Assert.That(Refused(loss, new float[21], new byte[2], 10, new float[21]).ParamName, Is.EqualTo("logits"));
    }

    [TestCaseSource(nameof(Losses))]
    public void AGradientOfTheWrongLengthIsRefused(ILoss loss)
    {
        Assert.That(Refused(loss, new float[20], new byte[2], 10, new float[19]).ParamName, Is.EqualTo("gradient"));
        Assert.That(Refused(loss, new float[20], new byte[2], 10, new float[40]).ParamName, Is.EqualTo("gradient"));
    }

    [TestCaseSource(nameof(Losses))]
    public void ALabelOutsideTheClassesIsRefusedNamingSampleAndLabel(ILoss loss)
    {
        var gradient = Enumerable.Repeat(7f, 30).ToArray();
        var e = Refused(loss, new float[30], [0, 9, 10], 10, gradient);
        Assert.That(e.Message, Does.Contain("sample 2").And.Contain("10"));
        Assert.That(e.ParamName, Is.EqualTo("labels"));
        var e2 = Refused(loss, new float[6], [1, 255, 0], 2, new float[6]);
        Assert.That(e2.Message, Does.Contain("sample 1").And.Contain("255"));
    }

    [TestCase(0.0)]
    [TestCase(-1.0)]
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    [TestCase(double.NegativeInfinity)]
    public void HingeMarginMustBePositiveAndFinite(double margin)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ModifiedHingeLoss(margin))!;
        Assert.That(e.ParamName, Is.EqualTo("margin"));
    }

    [TestCase(-0.5)]
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void CrossEntropyMarginMustBeNonNegativeAndFinite(double margin)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MarginCrossEntropyLoss(margin))!;
        Assert.That(e.ParamName, Is.EqualTo("margin"));
    }

    [TestCase(0.0)]
    [TestCase(-10.0)]
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void SquashingLimitMustBePositiveAndFinite(double limit)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MarginCrossEntropyLoss(1, limit))!;
        Assert.That(e.ParamName, Is.EqualTo("limit"));
    }

    [Test]
    public void ZeroCrossEntropyMarginIsAllowed() =>
        Assert.That(new MarginCrossEntropyLoss(0).Margin, Is.EqualTo(0));
}
