namespace HilBench.Memory.Tests;

[TestFixture]
public class OperatingPointTests
{
    [Test]
    public void ParsesVoltageAlone()
    {
        var op = OperatingPoint.Parse("V=0.55");
        Assert.That(op.Voltage, Is.EqualTo(0.55));
        Assert.That(op.TRcdNs, Is.Null);
        Assert.That(op.TemperatureC, Is.EqualTo(OperatingPoint.RoomTemperature));
    }

    [Test]
    public void ParsesUnitsAndSeparators()
    {
        var mv = OperatingPoint.Parse("V=550mV,T=85");
        Assert.That(mv.Voltage, Is.EqualTo(0.55).Within(1e-12));
        Assert.That(mv.TemperatureC, Is.EqualTo(85));
        Assert.That(mv.TRcdNs, Is.Null);

        var dram = OperatingPoint.Parse("V=1.1;tRCD=10ns;T=45");
        Assert.That((dram.Voltage, dram.TRcdNs, dram.TemperatureC), Is.EqualTo((1.1, (double?)10.0, 45.0)));

        var spaced = OperatingPoint.Parse(" v = 1.2V , TRCD = 12.5 , t = -10C ");
        Assert.That((spaced.Voltage, spaced.TRcdNs, spaced.TemperatureC), Is.EqualTo((1.2, (double?)12.5, -10.0)));
    }

    [Test]
    public void DefaultsFillMissingFields()
    {
        var nominal = new OperatingPoint(1.2, 13.5, 25);
        Assert.That(OperatingPoint.Parse("tRCD=10", nominal), Is.EqualTo(new OperatingPoint(1.2, 10, 25)));
        Assert.That(OperatingPoint.Parse("V=1.15", nominal), Is.EqualTo(new OperatingPoint(1.15, 13.5, 25)));
        Assert.That(OperatingPoint.Parse("T=65", nominal), Is.EqualTo(new OperatingPoint(1.2, 13.5, 65)));
        var sram = new OperatingPoint(1.0, null, 40);
        Assert.That(OperatingPoint.Parse("V=0.6", sram), Is.EqualTo(new OperatingPoint(0.6, null, 40)));
    }

    [TestCase("X=1", "unknown field 'X'")]
    [TestCase("V=0.5,Vdd=0.6", "unknown field 'Vdd'")]
    [TestCase("V=abc", "'abc' in operating point 'V=abc' is not a number")]
    [TestCase("V=", "is not a number")]
    [TestCase("V=NaN", "is not a number")]
    [TestCase("V=1e999", "is not a number")]
    [TestCase("tRCD=10mV,V=1", "is not a number")]
    [TestCase("V0.55", "is not KEY=VALUE")]
    [TestCase("=0.55", "is not KEY=VALUE")]
    [TestCase("", "is empty")]
    [TestCase("   ", "is empty")]
    [TestCase("T=85", "has no voltage; add V=")]
    public void RefusesBadText(string text, string message)
    {
        Assert.That(() => OperatingPoint.Parse(text), Throws.TypeOf<FormatException>().With.Message.Contains(message));
    }

    [TestCase(0.55, null, 25.0)]
    [TestCase(0.8125, null, -5.0)]
    [TestCase(1.1, 10.0, 45.0)]
    [TestCase(1.234567, 9.125, 65.5)]
    public void ToStringParsesBack(double v, double? trcd, double t)
    {
        var op = new OperatingPoint(v, trcd, t);
        string text = op.ToString();
        Assert.That(text, Does.StartWith("V=").And.Contain("T="));
        Assert.That(text.Contains("tRCD="), Is.EqualTo(trcd is not null));
        Assert.That(OperatingPoint.Parse(text), Is.EqualTo(op), text);
        Assert.That(OperatingPoint.Parse(op.ToString(";")), Is.EqualTo(op), "';' separates fields inside CSV");
        Assert.That(op.ToString(";"), Does.Not.Contain(","));
    }

    [Test]
    public void ToStringIsCompact()
    {
        Assert.That(new OperatingPoint(0.55).ToString(), Is.EqualTo("V=0.55,T=25"));
        Assert.That(new OperatingPoint(1.1, 10, 45).ToString(), Is.EqualTo("V=1.1,tRCD=10,T=45"));
    }

    [Test]
    public void SameAsToleratesTextRounding()
    {
        var parsed = OperatingPoint.Parse("V=550mV");
        Assert.That(parsed.SameAs(new OperatingPoint(0.55)), Is.True);
        Assert.That(new OperatingPoint(0.55).SameAs(new OperatingPoint(0.551)), Is.False);
        Assert.That(new OperatingPoint(1.1, 10).SameAs(new OperatingPoint(1.1)), Is.False, "a point with tRCD is not one without");
        Assert.That(new OperatingPoint(1.1, 10, 45).SameAs(new OperatingPoint(1.1, 10, 45.0000000001)), Is.True);
    }
}
