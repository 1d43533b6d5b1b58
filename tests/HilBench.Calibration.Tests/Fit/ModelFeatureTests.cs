using System.Text.Json.Nodes;
using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Emulation;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Tests.Fit;

/// <summary>
/// One model feature per test, each on a small emulated SRAM (256 blocks of 256 x 32 bits unless said) read
/// back at 0.56..0.50 V: what the data can and cannot identify, and that it is recovered when they can.
/// </summary>
public class ModelFeatureTests
{
    private static readonly WrittenPattern Ones = WrittenPattern.Parse("0xFFFF");
    private static readonly WrittenPattern Zeros = WrittenPattern.Parse("0x0000");
    private static readonly WrittenPattern Checkerboard = WrittenPattern.Parse("checkerboard");

    private static void Log(CalibrationResult r)
    {
        foreach (var p in r.Parameters) TestContext.Out.WriteLine($"{p.Name} = {p.Value:G5} +- {p.StandardError:G2} {p.Unit} {p.Note}");
        foreach (var n in r.Notes) TestContext.Out.WriteLine("note: " + n);
        TestContext.Out.WriteLine($"{r.Models.Single(m => m.Selected).Name}; {r.Elapsed.TotalSeconds:F1} s");
    }

    [Test]
    public void ConstantOnesShowOnlyOnePolarityAndSaySo()
    {
        var truth = EmulatedBench.Load(EmulatedBench.PlainSram());
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [Ones]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        Assert.That(r.Polarity.Estimated, Is.False);
        Assert.That(r.Polarity.ZeroToOneVisible, Is.False);
        Assert.That(r.Polarity.Note, Does.Contain("only 1->0 faults can show").And.Contain("cannot be estimated"));
        Assert.That(r["polarity.stuckAtZeroShare"].Fitted, Is.False);
        Assert.That(r.Profile.Polarity.StuckAtZeroShare, Is.EqualTo(0.5), "the cautious default");
        // What the data do identify, the BER of this pattern, is reproduced.
        foreach (var p in r.Points.Where(p => p.Faults >= 100))
            Assert.That(p.Ratio, Is.InRange(0.85, 1.15), $"{p.Point}: fitted {p.FittedBer:E3}, measured {p.MeasuredBer:E3}");
        Assert.That(r.Profile.Model.ExpectedBer(new OperatingPoint(0.50), onesShare: 1), Is.EqualTo(r.Points[0].MeasuredBer).Within(15).Percent);
    }

    [Test]
    public void OnesAndZerosTogetherIdentifyThePolarity()
    {
        var truth = EmulatedBench.Load(EmulatedBench.PlainSram());
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [Ones, Zeros]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        Assert.That(r.Polarity.Estimated, Is.True);
        Assert.That(r["polarity.stuckAtZeroShare"].Value, Is.EqualTo(0.9).Within(0.02));
        Assert.That(r["cells.mean"].Value, Is.EqualTo(0.41).Within(2).Percent);
        Assert.That(r["cells.sigma"].Value, Is.EqualTo(0.035).Within(10).Percent);
        Assert.That(r.Models.Single(m => m.Selected).Name, Is.EqualTo("no block offsets"), "the chip has none");
    }

    [Test]
    public void FitsTheTemperatureCoefficientWhenSeveralTemperaturesAreMeasured()
    {
        var json = EmulatedBench.PlainSram();
        json["cells"]!["temperatureCoefficient"] = -0.0004; // heat strengthens the cells: 24 mV at 85 C
        var truth = EmulatedBench.Load(json);
        var points = new[] { 0.0, 25, 85 }.SelectMany(t => EmulatedBench.Points(0.56, 0.50, t)).ToList();
        var maps = new EmulatedBench(truth).Record(points, [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        Assert.That(r["cells.temperatureCoefficient"].Fitted, Is.True);
        Assert.That(r["cells.temperatureCoefficient"].Value, Is.EqualTo(-0.0004).Within(15).Percent);
        Assert.That(r["cells.mean"].Value, Is.EqualTo(0.41).Within(2).Percent);
        Assert.That(r.Profile.TemperatureRange, Is.EqualTo(new ValueRange(0, 85)));
        Assert.That(r.Profile.Nominal.TemperatureC, Is.EqualTo(25));
    }

    [Test]
    public void OneTemperatureLeavesTheCoefficientUnfitted()
    {
        var truth = EmulatedBench.Load(EmulatedBench.PlainSram());
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50, temperature: 60), [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Assert.That(r["cells.temperatureCoefficient"].Fitted, Is.False);
        Assert.That(r.Notes, Has.Some.Contain("one temperature (60 C)"));
        Assert.That(r.Profile.TemperatureRange, Is.EqualTo(new ValueRange(60, 60)));
    }

    [Test]
    public void RepeatedReadsGiveTheTransientPart()
    {
        var json = EmulatedBench.PlainSram();
        json["transient"] = new JsonObject { ["share"] = 0.3, ["readFailureProbability"] = 0.5 };
        var truth = EmulatedBench.Load(json);
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard], repeats: 4);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        TestContext.Out.WriteLine(r.Transient.Note);
        Assert.That(r.Transient.Estimated, Is.True);
        Assert.That(r.Transient.Share, Is.EqualTo(0.3).Within(0.05));
        Assert.That(r.Transient.ReadFailureProbability, Is.EqualTo(0.5).Within(0.05));
        Assert.That(r.Profile.Transient, Is.EqualTo(new TransientPart(r.Transient.Share, r.Transient.ReadFailureProbability)));
        // The curve describes all failing cells, not only those caught on one read.
        Assert.That(r["cells.mean"].Value, Is.EqualTo(0.41).Within(2).Percent);
        foreach (var p in r.Points.Where(p => p.Faults >= 100))
            Assert.That(p.MeasuredBer, Is.InRange(p.FittedLow, p.FittedHigh), $"{p.Point}: fitted {p.FittedBer:E3} [{p.FittedLow:E3}, {p.FittedHigh:E3}], measured {p.MeasuredBer:E3}");
    }

    [Test]
    public void TwoRepeatsCannotSeparateShareFromReadProbability()
    {
        var json = EmulatedBench.PlainSram(blocks: 64);
        json["transient"] = new JsonObject { ["share"] = 0.3, ["readFailureProbability"] = 0.5 };
        var maps = new EmulatedBench(EmulatedBench.Load(json)).Record(EmulatedBench.Points(0.52, 0.50), [Checkerboard], repeats: 2);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Assert.That(r.Transient.Estimated, Is.False);
        Assert.That(r.Transient.Inconsistent, Is.GreaterThan(0));
        Assert.That(r.Transient.Note, Does.Contain("at least 3 repeats"));
        Assert.That(r.Profile.Transient, Is.EqualTo(TransientPart.None));
    }

    [Test]
    public void FindsWeakBitlinesAndWordlines()
    {
        var json = EmulatedBench.PlainSram();
        json["weakBitlines"] = new JsonObject { ["fraction"] = 0.01, ["strength"] = 0.04 };
        json["weakWordlines"] = new JsonObject { ["fraction"] = 0.005, ["strength"] = 0.05 };
        var truth = EmulatedBench.Load(json);
        var maps = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        TestContext.Out.WriteLine(r.Bitlines.Note);
        TestContext.Out.WriteLine(r.Wordlines.Note);
        Assert.That(r.Bitlines.Significant && r.Wordlines.Significant, Is.True);
        Assert.That(r.Profile.WeakBitlines.Fraction, Is.EqualTo(0.01).Within(30).Percent);
        Assert.That(r.Profile.WeakBitlines.Strength, Is.EqualTo(0.04).Within(20).Percent);
        Assert.That(r.Profile.WeakWordlines.Fraction, Is.EqualTo(0.005).Within(30).Percent);
        Assert.That(r.Profile.WeakWordlines.Strength, Is.EqualTo(0.05).Within(20).Percent);
        // With the weak lines set apart, the ordinary cells show no block offsets and their own distribution.
        Assert.That(r["cells.mean"].Value, Is.EqualTo(0.41).Within(2).Percent);
        Assert.That(r["cells.sigma"].Value, Is.EqualTo(0.035).Within(10).Percent);
    }

    [Test]
    public void UniformPlacementIsNotTakenForWeakLines()
    {
        var json = EmulatedBench.PlainSram();
        json["blockOffsets"] = new JsonObject { ["distribution"] = "normal", ["sigma"] = 0.01 };
        var maps = new EmulatedBench(EmulatedBench.Load(json)).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        TestContext.Out.WriteLine($"{r.Bitlines.Note}\n{r.Wordlines.Note}");
        Assert.That(r.Bitlines.Significant, Is.False, "block offsets alone do not make bitlines weak");
        Assert.That(r.Wordlines.Significant, Is.False);
        Assert.That(r.Profile.WeakBitlines, Is.EqualTo(WeakLines.None));
    }

    [Test]
    public void TwoClassBlocksAreRecognised()
    {
        var json = EmulatedBench.PlainSram(blocks: 512);
        json["blockOffsets"] = new JsonObject { ["distribution"] = "two-class", ["weakShare"] = 0.1, ["weakOffset"] = 0.03 };
        var maps = new EmulatedBench(EmulatedBench.Load(json)).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        Assert.That(r.Models.Single(m => m.Selected).Name, Is.EqualTo("two-class block offsets"));
        Assert.That(r["blockOffsets.weakShare"].Value, Is.EqualTo(0.1).Within(0.03));
        Assert.That(r["blockOffsets.weakOffset"].Value, Is.EqualTo(0.03).Within(15).Percent);
    }

    [Test]
    public void FaultListsWithoutReadValuesGiveAFlipProfile()
    {
        var json = EmulatedBench.PlainSram();
        json["polarity"] = new JsonObject { ["mode"] = "flip" };
        var truth = EmulatedBench.Load(json);
        var recorded = new EmulatedBench(truth).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard]);
        using var dir = new TempDirectory();
        var maps = new MeasuredMaps(truth.Geometry);
        foreach (var read in recorded.Reads)
        {
            string path = dir.File($"faults-{read.Point.Voltage:F2}.csv");
            File.WriteAllLines(path, ["block,row,bit", .. read.Faults.Select(f => $"{f.Block},{f.Row},{f.Bit}")]);
            maps.AddFaultList(path, read.Point);
        }
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        Log(r);
        Assert.That(r.Profile.Polarity.Mode, Is.EqualTo(FailureMode.Flip));
        Assert.That(r.Notes, Has.Some.Contain("polarity mode \"flip\""));
        Assert.That(r["cells.mean"].Value, Is.EqualTo(0.41).Within(2).Percent);
        Assert.That(r["cells.sigma"].Value, Is.EqualTo(0.035).Within(10).Percent);
    }

    [Test]
    public void DramCriticalTrcdAndVoltageSensitivity()
    {
        var json = new JsonObject
        {
            ["schema"] = DeviceProfile.Schema,
            ["name"] = "dram-test",
            ["technology"] = "dram",
            ["provenance"] = new JsonObject { ["source"] = "calibration test", ["method"] = "truth" },
            ["geometry"] = new JsonObject { ["blocks"] = 64, ["rows"] = 256, ["bitsPerRow"] = 256, ["wordBits"] = 64 },
            ["nominal"] = new JsonObject { ["voltage"] = 1.2, ["tRCD"] = 13.5, ["temperature"] = 25.0 },
            ["range"] = new JsonObject { ["voltage"] = new JsonArray(1.15, 1.2), ["tRCD"] = new JsonArray(8.5, 13.5) },
            ["cells"] = new JsonObject { ["mean"] = 6.6, ["sigma"] = 0.6, ["voltageSensitivity"] = 1.5 },
            ["polarity"] = new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.5 },
            ["chipSeed"] = 5,
        };
        var truth = EmulatedBench.Load(json);
        var points = new[] { 1.2, 1.15 }.SelectMany(v => new[] { 10.5, 10.0, 9.5, 9.0, 8.5 }.Select(t => new OperatingPoint(v, t))).ToList();
        var maps = new EmulatedBench(truth).Record(points, [Checkerboard]);
        var r = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.2, NominalTRcd = 13.5 });
        Log(r);
        Assert.That(r.Profile.Technology, Is.EqualTo(Technology.Dram));
        Assert.That(r["cells.mean"].Value, Is.EqualTo(6.6).Within(3).Percent);
        Assert.That(r["cells.sigma"].Value, Is.EqualTo(0.6).Within(10).Percent);
        Assert.That(r["cells.voltageSensitivity"].Value, Is.EqualTo(1.5).Within(20).Percent);
        Assert.That(r.Profile.TRcdRange, Is.EqualTo(new ValueRange(8.5, 13.5)));
        Assert.That(() => EmulatedChip.Generate(r.Profile, threads: 2), Throws.Nothing);
    }

    [Test]
    public void RefusesANominalVoltageBelowTheMeasuredOnesNamingTheOption()
    {
        var maps = new EmulatedBench(EmulatedBench.Load(EmulatedBench.PlainSram())).Record(EmulatedBench.Points(0.56, 0.50), [Checkerboard]);
        var e = Assert.Throws<CalibrationInputException>(() => Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 0.45 }));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("nominal voltage 0.45 V (--nominal-voltage) lies below the lowest measured voltage 0.5 V")
            .And.Contain("leave --nominal-voltage out to use the highest measured one (0.56 V)"));
        Assert.That(e.Message, Does.Not.Contain("range.voltage").And.Not.Contain("field"), "no profile field the user never wrote");
        e = Assert.Throws<CalibrationInputException>(() => Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0, VoltageRange = new ValueRange(0.5, 0.9) }));
        Assert.That(e!.Message, Does.Contain("1 V lies outside the voltage range [0.5, 0.9] V"));
    }

    [Test]
    public void RefusesDataThatCannotIdentifyTheCurve()
    {
        var truth = EmulatedBench.Load(EmulatedBench.PlainSram(blocks: 16));
        var bench = new EmulatedBench(truth);
        var one = bench.Record([new OperatingPoint(0.50)], [Checkerboard]);
        Assert.That(() => Calibrator.Fit(one), Throws.TypeOf<CalibrationFitException>().With.Message.Contain("one voltage").And.Message.Contain("at least two voltages"));
        var two = bench.Record(EmulatedBench.Points(0.51, 0.50), [Checkerboard]);
        Assert.That(() => Calibrator.Fit(two, new CalibrationOptions { HoldoutVoltages = [0.45] }),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("holdout voltage 0.45 V (--holdout) was not measured"));
        Assert.That(() => Calibrator.Fit(two, new CalibrationOptions { HoldoutVoltages = [0.50] }),
            Throws.TypeOf<CalibrationFitException>().With.Message.Contain("one voltage"));
        var clean = bench.Record(EmulatedBench.Points(0.80, 0.79), [Checkerboard]);
        Assert.That(() => Calibrator.Fit(clean), Throws.TypeOf<CalibrationFitException>().With.Message.Contain("no faults"));
    }
}
