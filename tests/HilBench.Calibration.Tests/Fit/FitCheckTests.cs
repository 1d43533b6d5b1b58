using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Tests.Fit;

/// <summary>
/// The fit says when it cannot be trusted: data no setting of the model describes is flagged in the notes the CLI
/// prints, and a chip emulated from the model is not.
/// </summary>
public class FitCheckTests
{
    private static readonly WrittenPattern Ones = WrittenPattern.Parse("0xFFFF");

    /// <summary>
    /// A fault count that stays flat from 0.56 to 0.51 V and then jumps twentyfold at 0.50 V, with the failing cells
    /// drawn afresh at every point: no normal critical-value curve rises like that, and the faults are not nested.
    /// </summary>
    private static MeasuredMaps Indescribable()
    {
        var g = new MemoryGeometry(256, 256, 32);
        var maps = new MeasuredMaps(g, "made-up faults");
        var random = new Random(11);
        foreach (double v in EmulatedBench.Voltages(0.56, 0.50))
        {
            int count = v == 0.50 ? 40_000 : 2_000;
            var cells = new HashSet<long>();
            while (cells.Count < count) cells.Add(random.NextInt64(g.TotalBits));
            var faults = cells.Select(c => g.Address(c)).Select(a => new MeasuredFault(a.Block, a.Row, a.Bit, Read: false, Stored: true)).ToArray();
            maps.Add(new MeasuredRead(new OperatingPoint(v), 0, faults, Ones, $"made-up read at {v} V"));
        }
        return maps;
    }

    [Test]
    public void DataTheModelCannotDescribeAreFlagged()
    {
        var r = Calibrator.Fit(Indescribable(), new CalibrationOptions { NominalVoltage = 1.0 });
        foreach (var n in r.Notes) TestContext.Out.WriteLine("note: " + n);
        var checks = r.Notes.Where(n => n.StartsWith("fit check", StringComparison.Ordinal)).ToList();
        Assert.That(checks, Has.Some.Contain("deviance"));
        Assert.That(checks, Has.Some.Contain("recur at every lower point"));
        Assert.That(r.ProfileJson, Does.Contain("fit check: the deviance"), "the profile's calibration section carries the warnings too");
    }

    [Test]
    public void AHeldOutPointTheProfileMissesIsFlagged()
    {
        // An emulated chip down to 0.51 V, then a 0.50 V read that shows only the faults of 0.51 V: about 2.4 times
        // fewer than any normal curve through the other points predicts.
        var bench = new EmulatedBench(EmulatedBench.Load(EmulatedBench.PlainSram()));
        var maps = bench.Record(EmulatedBench.Points(0.56, 0.51), [Ones]);
        var at051 = maps.Reads.Single(r => r.Point.Voltage == 0.51);
        maps.Add(at051 with { Point = new OperatingPoint(0.50), Source = "0.51 V faults given as 0.50 V" });
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0, HoldoutVoltages = [0.50] });
        foreach (var n in r.Notes) TestContext.Out.WriteLine("note: " + n);
        Assert.That(r.HeldoutFactor, Is.GreaterThan(Calibrator.HeldoutFactorLimit));
        Assert.That(r.Notes, Has.Some.StartWith("fit check").And.Contain("held-out point V=0.5").And.Contain("too high"));
    }

    [Test]
    public void AChipOfTheModelPassesTheChecks()
    {
        var truth = EmulatedBench.Load(EmulatedBench.PlainSram());
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [WrittenPattern.Parse("checkerboard")]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0, HoldoutVoltages = [0.50] });
        foreach (var n in r.Notes) TestContext.Out.WriteLine("note: " + n);
        Assert.That(r.HeldoutFactor, Is.LessThan(Calibrator.HeldoutFactorLimit));
        Assert.That(r.Notes, Has.None.StartWith("fit check"));
    }
}
