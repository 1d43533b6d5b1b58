using HilBench.Calibration.Fit;
using HilBench.Calibration.Import;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory;

namespace HilBench.Calibration.Tests;

/// <summary>
/// The round trip of <see cref="RoundTripTests"/> on other chips of the same profile (in memory, no dumps), to
/// see that meeting the tolerances is not the luck of one chip. About 3 s per chip, so not part of the default run.
/// </summary>
[Explicit("about 15 s; run when the fit changes")]
public class ChipSeedSweepTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void RoundTripOnAnotherChip(int seed)
    {
        var truth = EmulatedBench.Load(EmulatedBench.BramLike(512, 512, 32));
        var maps = new EmulatedBench(truth, seed).Record(EmulatedBench.Points(0.60, 0.50), [new Checkerboard(false)]);
        var fit = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0 });
        var held = Calibrator.Fit(maps, new CalibrationOptions { NominalVoltage = 1.0, HoldoutVoltages = [0.50, 0.51] });
        double mean = fit["cells.mean"].Value / 0.41 - 1, sigma = fit["cells.sigma"].Value / 0.035 - 1;
        double blocks = fit["blockOffsets.sigma"].Value / 0.008 - 1, s0 = fit["polarity.stuckAtZeroShare"].Value - 0.9;
        TestContext.Out.WriteLine($"chip {seed}: mean {mean:+0.00%;-0.00%}, sigma {sigma:+0.00%;-0.00%}, block sigma {blocks:+0.00%;-0.00%}, stuck-at-0 share {s0:+0.0000;-0.0000}, held-out factor {held.HeldoutFactor:F3}");
        Assert.That(Math.Abs(mean), Is.LessThan(0.02));
        Assert.That(Math.Abs(sigma), Is.LessThan(0.10));
        Assert.That(Math.Abs(blocks), Is.LessThan(0.15));
        Assert.That(Math.Abs(s0), Is.LessThan(0.02));
        Assert.That(held.HeldoutFactor, Is.LessThan(1.5));
    }
}
