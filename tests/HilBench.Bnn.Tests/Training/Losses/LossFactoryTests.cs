using HilBench.Bnn.Training.Losses;
using NUnit.Framework;

namespace HilBench.Bnn.Tests.Training.Losses;

[TestFixture]
public class LossFactoryTests
{
    [Test]
    public void CreatesEachLossByName()
    {
        Assert.That(LossFactory.Create("ce"), Is.TypeOf<CrossEntropyLoss>());
        var mhl = LossFactory.Create("mhl");
        Assert.That(mhl, Is.TypeOf<ModifiedHingeLoss>());
        Assert.That(((ModifiedHingeLoss)mhl).Margin, Is.EqualTo(128));
        Assert.That(((ModifiedHingeLoss)LossFactory.Create("mhl", 32)).Margin, Is.EqualTo(32));
        var mcel = LossFactory.Create("mcel", 2.5);
        Assert.That(mcel, Is.TypeOf<MarginCrossEntropyLoss>());
        Assert.That(((MarginCrossEntropyLoss)mcel).Margin, Is.EqualTo(2.5));
        Assert.That(((MarginCrossEntropyLoss)mcel).Limit, Is.EqualTo(100));
    }

    [Test]
    public void NamesRoundTripAndIgnoreCaseAndSpace()
    {
        Assert.That(LossFactory.Names, Is.EqualTo(new[] { "ce", "mhl", "mcel" }));
        foreach (string name in LossFactory.Names)
            Assert.That(LossFactory.Create(name, name == "ce" ? null : 1).Name, Is.EqualTo(name));
        Assert.That(LossFactory.Create(" MHL ").Name, Is.EqualTo("mhl"));
        Assert.That(LossFactory.Create("Ce").Name, Is.EqualTo("ce"));
    }

    [TestCase("")]
    [TestCase("hinge")]
    [TestCase("cross-entropy")]
    [TestCase("mse")]
    public void UnknownNamesAreRefusedNamingTheValidChoices(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => LossFactory.Create(name))!;
        Assert.That(e.Message, Does.Contain("'ce'").And.Contain("'mhl'").And.Contain("'mcel'"));
        Assert.That(e.ParamName, Is.EqualTo("name"));
    }

    [Test]
    public void NullNameIsRefused() =>
        Assert.Throws<ArgumentNullException>(() => LossFactory.Create(null!));

    [Test]
    public void MarginMisuseIsRefused()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => LossFactory.Create("ce", 5))!.Message, Does.Contain("no margin"));
        Assert.That(Assert.Throws<ArgumentException>(() => LossFactory.Create("mcel"))!.Message, Does.Contain("needs a margin"));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossFactory.Create("mhl", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossFactory.Create("mhl", double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossFactory.Create("mcel", -1));
    }
}
