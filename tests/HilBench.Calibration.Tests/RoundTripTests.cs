using System.Diagnostics;
using System.Text.Json.Nodes;
using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Report;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Emulation;
using HilBench.Memory.Profiles;

namespace HilBench.Calibration.Tests;

/// <summary>
/// Emulate a chip from a known profile (the bram-like cells and heterogeneity on 512 blocks of 512 x 32 bits),
/// read a checkerboard back at 0.60..0.50 V into dumps on disk (binary, two of them hex), calibrate from the
/// dumps, and compare the fitted parameters with the truth. With about 25,000 faults at 0.50 V, 50 per block,
/// the block spread is identified to a few percent; the checkerboard shows both failure polarities.
/// </summary>
[TestFixture]
public class RoundTripTests
{
    private static readonly double[] Holdout = [0.50, 0.51];

    private TempDirectory _dir = null!;
    private DeviceProfile _truth = null!;
    private MeasuredMaps _maps = null!;
    private CalibrationResult _fit = null!;
    private CalibrationResult _heldout = null!;

    [OneTimeSetUp]
    public void Calibrate()
    {
        var clock = Stopwatch.StartNew();
        _dir = new TempDirectory();
        _truth = EmulatedBench.Load(EmulatedBench.BramLike(blocks: 512, rows: 512, bits: 32));
        var bench = new EmulatedBench(_truth);
        var pattern = new Checkerboard(inverse: false);
        var files = new List<MeasuredFileSpec>();
        foreach (double v in EmulatedBench.Voltages(0.60, 0.50))
        {
            var format = v is 0.50 or 0.55 ? DumpFormat.Hex : DumpFormat.Binary;
            string path = bench.WriteDump(_dir.Path, pattern, new OperatingPoint(v), format);
            files.Add(new MeasuredFileSpec(path, new OperatingPoint(v), Format: format));
        }
        _maps = MeasuredInputs.FromFiles(files, DumpFormat.Binary, _truth.Geometry, "checkerboard", description: "emulated bram-like chip 7");
        TestContext.Out.WriteLine($"chip and dumps: {clock.Elapsed.TotalSeconds:F1} s");
        _fit = Calibrator.Fit(_maps, new CalibrationOptions { Name = "bram-like-calibrated", NominalVoltage = 1.0, Date = new DateOnly(2026, 11, 30) });
        TestContext.Out.WriteLine($"fit on all voltages: {_fit.Elapsed.TotalSeconds:F1} s");
        _heldout = Calibrator.Fit(_maps, new CalibrationOptions { Name = "bram-like-heldout", NominalVoltage = 1.0, HoldoutVoltages = Holdout });
        TestContext.Out.WriteLine($"fit without {string.Join(", ", Holdout)} V: {_heldout.Elapsed.TotalSeconds:F1} s");
    }

    [OneTimeTearDown]
    public void CleanUp() => _dir.Dispose();

    [Test]
    public void TheChipHasEnoughFaultsToIdentifyTheModel()
    {
        // The block spread shows as scatter of faults per block beyond Poisson: that needs tens of faults in
        // nearly every block (calibration/README.md, "How to measure").
        var lowest = _maps.Reads.Single(r => r.Point.Voltage == 0.50);
        int blocksWithFaults = lowest.Faults.Select(f => f.Block).Distinct().Count();
        double perBlock = (double)lowest.Faults.Count / _truth.Geometry.Blocks;
        TestContext.Out.WriteLine($"{lowest.Faults.Count} faults at 0.50 V, {perBlock:F1} per block, {blocksWithFaults} of {_truth.Geometry.Blocks} blocks hold some");
        Assert.That(lowest.Faults, Has.Count.GreaterThanOrEqualTo(1000));
        Assert.That(perBlock, Is.GreaterThanOrEqualTo(20));
        Assert.That(blocksWithFaults, Is.GreaterThanOrEqualTo(0.95 * _truth.Geometry.Blocks));
    }

    [Test]
    public void RecoversTheCriticalVoltageDistribution()
    {
        Report("cells.mean", _truth.Cells.Mean, relative: 0.02);
        Report("cells.sigma", _truth.Cells.Sigma, relative: 0.10);
    }

    [Test]
    public void RecoversTheBlockHeterogeneity()
    {
        Assert.That(_fit.Models.Single(m => m.Selected).Name, Is.EqualTo("normal block offsets"), "AIC picks the offset model the chip was drawn from");
        foreach (var m in _fit.Models) TestContext.Out.WriteLine($"{m.Name,-26} k={m.ParameterCount} logL={m.LogLikelihood:F1} dAIC={m.DeltaAic:F1}");
        Report("blockOffsets.sigma", _truth.BlockOffsets.Sigma, relative: 0.15);
    }

    [Test]
    public void RecoversThePolarity()
    {
        Assert.That(_fit.Polarity.Estimated, Is.True);
        Report("polarity.stuckAtZeroShare", _truth.Polarity.StuckAtZeroShare, absolute: 0.02);
    }

    [Test]
    public void FindsTheWeakBitlines()
    {
        // 0.2% of 16,384 bitlines is about 33 lines, each with a few extra faults: detected; the fraction is
        // rough, the strength close. The 0.1% weak wordlines (+0.02 V on 32 cells) are too faint to detect here.
        Assert.That(_fit.Bitlines.Significant, Is.True, _fit.Bitlines.Note);
        Report("weakBitlines.fraction", _truth.WeakBitlines.Fraction, relative: 0.6);
        Report("weakBitlines.strength", _truth.WeakBitlines.Strength, relative: 0.25);
        TestContext.Out.WriteLine(_fit.Wordlines.Note);
    }

    [Test]
    public void FaultsAreNested()
    {
        Assert.That(_fit.Nesting.Share, Is.EqualTo(1.0), _fit.Nesting.Note);
        Assert.That(_fit.Transient.Estimated, Is.False, "one read per point shows nothing transient");
    }

    [Test]
    public void FittedBerMatchesEveryPoint()
    {
        foreach (var p in _fit.Points.Where(p => p.Faults >= 100))
        {
            TestContext.Out.WriteLine($"{p.Point}: measured {p.MeasuredBer:E3}, fitted {p.FittedBer:E3} [{p.FittedLow:E3}, {p.FittedHigh:E3}]");
            Assert.That(p.MeasuredBer, Is.InRange(p.FittedLow, p.FittedHigh), $"{p.Point} lies in the fit's 95% interval");
        }
        Assert.That(_fit.Notes.Concat(_heldout.Notes), Has.None.StartWith("fit check"), "a chip of the model passes every fit check");
    }

    [Test]
    public void TheReportExpectsTheBerTheEmulatorExpects()
    {
        // A checkerboard stores half ones in every block, so the report's fitted BER is the profile's expected BER.
        foreach (var p in _fit.Points)
            Assert.That(p.FittedBer, Is.EqualTo(_fit.Profile.Model.ExpectedBer(p.Point)).Within(1e-9).Percent, $"{p.Point}");
    }

    [Test]
    public void HeldOutVoltagesArePredictedWithinAFactorOf1Point5()
    {
        foreach (var p in _heldout.Points.Where(p => p.Heldout))
            TestContext.Out.WriteLine($"{p.Point}: measured {p.MeasuredBer:E3}, predicted {p.FittedBer:E3}, fitted/measured {p.Ratio:F3}");
        Assert.That(_heldout.Points.Where(p => p.Heldout).Select(p => p.Point.Voltage), Is.EquivalentTo(Holdout));
        Assert.That(_heldout.HeldoutFactor, Is.LessThan(1.5));
        Assert.That(_heldout.Profile.Cells.Mean, Is.EqualTo(_truth.Cells.Mean).Within(0.02 * _truth.Cells.Mean));
    }

    [Test]
    public void TheProfileRunsInTheEmulatorAsIs()
    {
        string path = _dir.File("profile.json");
        _fit.SaveProfile(path);
        var loaded = DeviceProfile.Load(path);
        Assert.That(loaded.Geometry, Is.EqualTo(_truth.Geometry));
        Assert.That(loaded.Technology, Is.EqualTo(Technology.Sram));
        Assert.That(loaded.VoltageRange, Is.EqualTo(new ValueRange(0.50, 1.0)));
        var chip = EmulatedChip.Generate(loaded, threads: 2);
        double measured = _maps.Reads.Single(r => r.Point.Voltage == 0.50).Faults.Count;
        // A checkerboard stores half ones: the expected wrong bits are the failing cells times the error share.
        double emulated = Enumerable.Range(0, loaded.Geometry.Blocks).Sum(b => chip.ExpectedFailingCells(0.50, b)) * loaded.Model.ErrorShare(0.5);
        TestContext.Out.WriteLine($"faults at 0.50 V: measured {measured}, a chip of the fitted profile expects {emulated:F0}");
        Assert.That(emulated / measured, Is.InRange(0.8, 1.25));

        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.That(json["provenance"]!["source"]!.GetValue<string>(), Does.Contain("sha256 " + _fit.Inputs[0].Sha256));
        Assert.That(json["provenance"]!["date"]!.GetValue<string>(), Is.EqualTo("2026-11-30"));
        Assert.That(json["provenance"]!["quality"]!.GetValue<string>(), Does.Contain("cells.mean").And.Contain("+-"));
        var parameters = json["calibration"]!["parameters"]!.AsArray();
        Assert.That(parameters.Single(p => p!["name"]!.GetValue<string>() == "cells.mean")!["standardError"]!.GetValue<double>(), Is.GreaterThan(0));
        Assert.That(json["calibration"]!["inputs"]!.AsArray(), Has.Count.EqualTo(11));
    }

    [Test]
    public void WritesTheReport()
    {
        string dir = Environment.GetEnvironmentVariable("HILBENCH_KEEP_REPORT") ?? _dir.File("report");
        var files = CalibrationReport.Write(_heldout, dir);
        foreach (var f in files) TestContext.Out.WriteLine($"{Path.GetFileName(f)}: {new FileInfo(f).Length} bytes");
        foreach (string name in new[] { "report.md", "fit.json", "ber.png", "ber.svg", "blocks.png", "blocks.svg" })
            Assert.That(File.Exists(Path.Combine(dir, name)), name);
        foreach (string png in new[] { "ber.png", "blocks.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, png));
            Assert.That(bytes[..4], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
            Assert.That(bytes, Has.Length.GreaterThan(20_000), $"{png} holds a drawn figure");
        }
        string ber = File.ReadAllText(Path.Combine(dir, "ber.svg"));
        foreach (string series in new[] { CalibrationPlots.FittedPointsLabel, CalibrationPlots.HeldoutPointsLabel, CalibrationPlots.CurveLabel, CalibrationPlots.BandLabel })
            Assert.That(ber, Does.Contain(series), $"ber.svg shows '{series}'");
        string blocks = File.ReadAllText(Path.Combine(dir, "blocks.svg"));
        Assert.That(blocks, Does.Contain(CalibrationPlots.MeasuredBlocksLabel).And.Contain(CalibrationPlots.ExpectedBlocksLabel));

        var fit = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "fit.json")))!;
        var points = fit["points"]!.AsArray();
        Assert.That(points, Has.Count.EqualTo(11));
        foreach (var p in points)
        {
            Assert.That(p!["op"]!.GetValue<string>(), Does.StartWith("V="));
            Assert.That(p["measured_ber"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(0));
            Assert.That(p["fitted_ber"]!.GetValue<double>(), Is.GreaterThan(0));
            Assert.That(p["faults"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(0));
            Assert.That(p["heldout"]!.GetValue<bool>(), Is.EqualTo(Holdout.Contains(p["voltage"]!.GetValue<double>())));
        }
        string md = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.That(md, Does.Contain("## Parameters").And.Contain("## Model selection").And.Contain("## Held-out check").And.Contain("standard error").And.Contain("![bit error rate"));
    }

    /// <summary>Logs truth, fit, standard error and error of one parameter and checks it.</summary>
    private void Report(string name, double truth, double? relative = null, double? absolute = null)
    {
        var p = _fit[name];
        double error = p.Value - truth;
        TestContext.Out.WriteLine($"{name}: truth {truth:G5}, fit {p.Value:G5} +- {p.StandardError:G2}, error {error:+0.#####;-0.#####} ({error / truth:+0.0%;-0.0%})");
        if (relative is { } r) Assert.That(Math.Abs(error / truth), Is.LessThanOrEqualTo(r), $"{name} within {r:P0} of the truth");
        if (absolute is { } a) Assert.That(Math.Abs(error), Is.LessThanOrEqualTo(a), $"{name} within {a} of the truth");
    }
}
