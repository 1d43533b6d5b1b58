using System.Text.Json.Nodes;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Profiles;

[TestFixture]
public class CellFailureModelTests
{
    [Test]
    public void UpperTailAndItsInverseAgreeFarIntoTheTail()
    {
        Assert.That(CellFailureModel.UpperTail(0), Is.EqualTo(0.5).Within(1e-15));
        Assert.That(CellFailureModel.UpperTail(1.959963984540054), Is.EqualTo(0.025).Within(1e-12));
        Assert.That(CellFailureModel.UpperTail(-3), Is.EqualTo(1 - CellFailureModel.UpperTail(3)).Within(1e-15));
        foreach (double p in new[] { 0.3, 1e-3, 1e-9, 1e-15 })
            Assert.That(CellFailureModel.UpperTail(CellFailureModel.UpperTailInverse(p)), Is.EqualTo(p).Within(p * 1e-9), $"p = {p}");
    }

    [Test]
    public void SramWithoutHeterogeneityIsOneNormalTail()
    {
        var p = ProfileJson.Sram().Set("cells.temperatureCoefficient", 0.001).Parse();
        var m = p.Model;
        foreach (double v in new[] { 0.52, 0.55, 0.6, 0.8 })
        {
            var op = new OperatingPoint(v);
            Assert.That(m.ThresholdAt(op), Is.EqualTo(v));
            Assert.That(m.FailureProbability(op), Is.EqualTo(CellFailureModel.UpperTail((v - 0.4) / 0.05)).Within(1e-10).Percent, $"V = {v}");
        }
        // Heat lowers the threshold when the coefficient is positive: V - tc (T - T_nominal).
        Assert.That(m.ThresholdAt(new OperatingPoint(0.6, null, 75)), Is.EqualTo(0.6 - 0.001 * 50).Within(1e-15));
        Assert.That(m.Floor, Is.EqualTo(0.52 - 0.001 * 60).Within(1e-15), "worst corner: lowest voltage, hottest temperature");
        Assert.That(m.TailProbability(0.5, 0.02), Is.EqualTo(CellFailureModel.UpperTail((0.5 - 0.42) / 0.05)).Within(1e-15));
        Assert.That(m.TailProbability(m.LatentAtTail(1e-6, 0.01), 0.01), Is.EqualTo(1e-6).Within(1e-15));
    }

    [Test]
    public void DramThresholdStretchesWithUndervoltAndHeat()
    {
        var m = Repo.Ddr4Like().Model;
        // threshold = tRCD / ((1 + a (V_nom - V)) (1 + tc (T - T_nom))), a = 1.5 / V, tc = 0.0015 / C.
        Assert.That(m.ThresholdAt(new OperatingPoint(1.2, 10, 25)), Is.EqualTo(10).Within(1e-12));
        Assert.That(m.ThresholdAt(new OperatingPoint(1.1, 10, 25)), Is.EqualTo(10 / 1.15).Within(1e-12));
        Assert.That(m.ThresholdAt(new OperatingPoint(1.1, 9, 65)), Is.EqualTo(9 / (1.15 * 1.06)).Within(1e-12));
        Assert.That(m.ThresholdAt(new OperatingPoint(1.2)), Is.EqualTo(13.5).Within(1e-12), "no tRCD means the nominal tRCD");
    }

    [Test]
    public void FailuresGrowStrictlyAsTheMarginShrinks()
    {
        var bram = Repo.BramLike().Model;
        double[] volts = [0.7, 0.62, 0.6, 0.58, 0.56, 0.54];
        var sram = volts.Select(v => bram.FailureProbability(new OperatingPoint(v))).ToArray();
        Assert.That(sram, Is.Ordered.Ascending);
        Assert.That(sram.Distinct().Count(), Is.EqualTo(sram.Length), "strictly");

        var ddr = Repo.Ddr4Like().Model;
        var byTrcd = new[] { 13.5, 12, 11, 10, 9.5, 9 }.Select(t => ddr.FailureProbability(new OperatingPoint(1.15, t))).ToArray();
        var byVolt = new[] { 1.2, 1.175, 1.15, 1.125, 1.1 }.Select(v => ddr.FailureProbability(new OperatingPoint(v, 10))).ToArray();
        var byHeat = new[] { 25.0, 45, 65 }.Select(t => ddr.FailureProbability(new OperatingPoint(1.15, 10, t))).ToArray();
        foreach (var series in new[] { byTrcd, byVolt, byHeat })
        {
            Assert.That(series, Is.Ordered.Ascending);
            Assert.That(series.Distinct().Count(), Is.EqualTo(series.Length), "strictly");
        }
    }

    /// <summary>The figures the shipped bram-like profile quotes in provenance.quality (two significant digits, so 5%).</summary>
    [TestCase(0.60, 7.0e-8)]
    [TestCase(0.58, 1.2e-6)]
    [TestCase(0.56, 1.6e-5)]
    [TestCase(0.54, 1.5e-4)]
    public void BramProfileMatchesTheFiguresItQuotes(double volts, double share)
    {
        var bram = Repo.BramLike();
        Assert.That(bram.Provenance.Quality, Does.Contain($"{share:0.0e+0} at {volts:0.00} V").IgnoreCase);
        double p = bram.Model.FailureProbability(new OperatingPoint(volts));
        TestContext.Out.WriteLine($"bram-like at {volts} V: failing share {p:G3} (quoted {share:G2})");
        Assert.That(p, Is.EqualTo(share).Within(5).Percent);
    }

    /// <summary>The figures the shipped ddr4-like profile quotes in provenance.quality (two significant digits, so 5%).</summary>
    [TestCase(1.2, 8.2e-8)]
    [TestCase(1.15, 1.6e-5)]
    [TestCase(1.1, 6.3e-4)]
    public void DramProfileMatchesTheFiguresItQuotes(double volts, double share)
    {
        var ddr = Repo.Ddr4Like();
        Assert.That(ddr.Provenance.Quality, Does.Contain("at tRCD 10 ns and 25 C").And.Contain($"{share:0.0e+0} at {volts} V"));
        double p = ddr.Model.FailureProbability(new OperatingPoint(volts, 10));
        TestContext.Out.WriteLine($"ddr4-like at {volts} V, tRCD 10 ns: failing share {p:G3} (quoted {share:G2})");
        Assert.That(p, Is.EqualTo(share).Within(5).Percent);
    }

    [Test]
    public void TopTenPercentShareOfBlocks()
    {
        var op = new OperatingPoint(0.55);
        Assert.That(ProfileJson.Sram().Parse().Model.Top10BlockShare(op), Is.EqualTo(0.1).Within(1e-3), "identical blocks share faults evenly");

        // Two classes, 5% weak: the top 10% holds all weak blocks and as many ordinary ones.
        var two = ProfileJson.Sram().Set("blockOffsets", new JsonObject { ["distribution"] = "two-class", ["weakShare"] = 0.05, ["weakOffset"] = 0.04 }).Parse().Model;
        double t = two.ThresholdAt(op), s = two.BlockFailureProbability(t, 0), w = two.BlockFailureProbability(t, 0.04);
        Assert.That(two.Top10BlockShare(op), Is.EqualTo((0.05 * w + 0.05 * s) / (0.05 * w + 0.95 * s)).Within(1e-3));
        Assert.That(two.FailureProbability(op), Is.EqualTo(0.95 * s + 0.05 * w).Within(1e-3 * s));

        var normal = Repo.BramLike().Model;
        double share = normal.Top10BlockShare(new OperatingPoint(0.56));
        TestContext.Out.WriteLine($"bram-like top-10% block share at 0.56 V: {share:F3}");
        Assert.That(share, Is.GreaterThan(0.2).And.LessThan(1));
    }

    /// <summary>E over block offsets of a block's failing share, by Simpson's rule on a fine grid over +-12 sigma_b.</summary>
    private static double BruteForce(CellFailureModel m, double threshold)
    {
        var o = m.Profile.BlockOffsets;
        if (o.Distribution == BlockOffsetDistribution.TwoClass)
            return (1 - o.WeakShare) * m.BlockFailureProbability(threshold, 0) + o.WeakShare * m.BlockFailureProbability(threshold, o.WeakOffset);
        const int n = 24_000;
        double h = 24.0 / n, sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double z = -12 + i * h, weight = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
            sum += weight * Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI) * m.BlockFailureProbability(threshold, o.Sigma * z);
        }
        return sum * h / 3;
    }

    [TestCase(0.008, 0.60)]
    [TestCase(0.008, 0.54)]
    [TestCase(0.035, 0.56)] // block spread as large as the cells': the tail is carried by the weakest blocks
    [TestCase(0.08, 0.60)]
    public void ExpectedFailingShareIntegratesNormalBlockOffsetsExactly(double blockSigma, double volts)
    {
        var bram = ProfileJson.FromFile(Repo.BramLikePath).Set("blockOffsets.sigma", blockSigma).Parse().Model;
        var op = new OperatingPoint(volts);
        double exact = BruteForce(bram, bram.ThresholdAt(op));
        Assert.That(bram.FailureProbability(op), Is.EqualTo(exact).Within(1e-9).Percent);
    }

    [Test]
    public void ExpectedFailingShareMixesTwoClassOffsetsExactly()
    {
        var ddr = Repo.Ddr4Like().Model;
        foreach (var op in new[] { new OperatingPoint(1.2, 10), new OperatingPoint(1.1, 9.5, 55) })
            Assert.That(ddr.FailureProbability(op), Is.EqualTo(BruteForce(ddr, ddr.ThresholdAt(op))).Within(1e-12).Percent, $"{op}");
    }

    [Test]
    public void OffsetNodesIntegrateLikeTheClosedForm()
    {
        var bram = Repo.BramLike();
        var (offsets, weights) = CellFailureModel.OffsetNodes(bram.BlockOffsets);
        Assert.That(weights.Sum(), Is.EqualTo(1).Within(1e-12));
        foreach (double v in new[] { 0.60, 0.54 })
        {
            double t = bram.Model.ThresholdAt(new OperatingPoint(v));
            double byNodes = offsets.Select((o, j) => weights[j] * bram.Model.BlockFailureProbability(t, o)).Sum();
            Assert.That(byNodes, Is.EqualTo(bram.Model.FailureProbability(t)).Within(1e-4).Percent, $"{v} V");
        }
    }

    [Test]
    public void ErrorShareFollowsPolarity()
    {
        var flip = ProfileJson.Sram().Parse().Model;
        Assert.That(flip.ErrorShare(0.3), Is.EqualTo(1));
        var stuck = Repo.BramLike().Model; // 90% stuck at 0
        Assert.That(stuck.ErrorShare(0.5), Is.EqualTo(0.5).Within(1e-15));
        Assert.That(stuck.ErrorShare(1), Is.EqualTo(0.9).Within(1e-15), "stored ones are lost by the cells stuck at 0");
        Assert.That(stuck.ErrorShare(0), Is.EqualTo(0.1).Within(1e-15));
        var ddr = Repo.Ddr4Like().Model;
        Assert.That(ddr.ErrorShare(0.9), Is.EqualTo(0.5), "true and anti cells in equal numbers");
        Assert.That(ddr.ReadShare, Is.EqualTo(1 - 0.3 + 0.3 * 0.5).Within(1e-15));
        var op = new OperatingPoint(1.15, 10);
        Assert.That(ddr.ExpectedBer(op), Is.EqualTo(ddr.FailureProbability(op) * 0.5 * 0.85).Within(1e-20));
    }

    [Test]
    public void ReadEnergyScalesWithVoltage()
    {
        var bram = Repo.BramLike();
        var m = bram.Model;
        // One 32-bit access at nominal: 10 pJ dynamic + 25 mW leakage over 5 ns.
        Assert.That(m.ReadEnergyJoules(bram.Nominal, 32), Is.EqualTo(10e-12 + 25e-3 * 5e-9).Within(1e-18));
        Assert.That(m.ReadEnergyJoules(bram.Nominal, 33), Is.EqualTo(2 * (10e-12 + 25e-3 * 5e-9)).Within(1e-18), "partial words cost a whole access");
        // At 0.6 V: dynamic x 0.36, leakage x 0.216.
        Assert.That(m.ReadEnergyJoules(new OperatingPoint(0.6), 32), Is.EqualTo(10e-12 * 0.36 + 25e-3 * 0.216 * 5e-9).Within(1e-18));
        Assert.That(m.EnergySaving(bram.Nominal), Is.EqualTo(0).Within(1e-12));
        Assert.That(m.EnergySaving(new OperatingPoint(0.6)), Is.EqualTo(1 - (3.6e-12 + 2.7e-11) / 1.35e-10).Within(1e-9));
        Assert.That(ProfileJson.Sram().Parse().Model.ReadEnergyJoules(new OperatingPoint(0.6), 64), Is.Null, "no energy model, no energy");
        var ddr = Repo.Ddr4Like().Model;
        Assert.That(ddr.ReadEnergyJoules(new OperatingPoint(1.15), 64), Is.EqualTo(ddr.ReadEnergyJoules(new OperatingPoint(1.15, 13.5), 64)),
            "a DRAM point without tRCD reads at the nominal tRCD, as its threshold does");
        Assert.That(ddr.ReadEnergyJoules(new OperatingPoint(1.15, 10), 64), Is.LessThan(ddr.ReadEnergyJoules(new OperatingPoint(1.15), 64)!.Value), "a shorter tRCD shortens the access");
    }
}
