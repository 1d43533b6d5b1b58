using System.Text.Json.Nodes;
using HilBench.Memory.Emulation;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Emulation;

[TestFixture]
public class EmulatedChipTests
{
    private static readonly double[] Volts = [0.52, 0.55, 0.58, 0.60];

    private static long FailingCells(EmulatedChip chip, double threshold) =>
        Enumerable.Range(0, chip.Profile.Geometry.Blocks).Sum(b => (long)chip.FailingCount(b, threshold));

    /// <summary>
    /// Without offsets or weak lines every cell fails independently with the profile's probability p(V), so the number
    /// of failing cells of the whole 4-Mbit device is binomial(cells, p(V)).
    /// </summary>
    [Test]
    public void FailingCellsOfAUniformChipMatchTheProfile()
    {
        var profile = ProfileJson.Sram().Parse();
        var chip = EmulatedChip.Generate(profile);
        long cells = profile.Geometry.TotalBits;
        foreach (double v in Volts)
        {
            var op = new OperatingPoint(v);
            Binomial.AssertWithinFourSigma(FailingCells(chip, chip.Model.ThresholdAt(op)), cells, profile.Model.FailureProbability(op), $"uniform chip, failing cells at {v} V");
        }
    }

    /// <summary>
    /// With block offsets and weak lines the chip's own offsets and lines are fixed once drawn; given them each cell still
    /// fails independently, with the probability of its class, so the count is a sum of binomials around the chip's expectation.
    /// </summary>
    [Test]
    public void FailingCellsOfAHeterogeneousChipMatchItsOwnExpectation()
    {
        var profile = ProfileJson.SramHeterogeneous().Parse();
        var chip = EmulatedChip.Generate(profile);
        var g = profile.Geometry;
        foreach (double v in Volts)
        {
            double threshold = chip.Model.ThresholdAt(new OperatingPoint(v));
            double expected = Enumerable.Range(0, g.Blocks).Sum(b => chip.ExpectedFailingCells(threshold, b));
            Binomial.AssertWithinFourSigmaOfSum(FailingCells(chip, threshold), expected, $"heterogeneous chip, failing cells at {v} V");
        }
        // The weak lines themselves are binomial draws: 1% of 256 x 64 bitlines and of 256 x 256 wordlines.
        Binomial.AssertWithinFourSigma(Enumerable.Range(0, g.Blocks).Sum(b => chip.WeakBitlines(b).Count), (double)g.Blocks * g.BitsPerRow, 0.01, "weak bitlines");
        Binomial.AssertWithinFourSigma(Enumerable.Range(0, g.Blocks).Sum(b => chip.WeakWordlines(b).Count), (double)g.Blocks * g.RowsPerBlock, 0.01, "weak wordlines");
        // Block offsets ~ Normal(0, 0.01): the share above 0 is binomial(256, 1/2).
        Binomial.AssertWithinFourSigma(chip.BlockOffsets.Count(o => o > 0), g.Blocks, 0.5, "blocks with a positive offset");
    }

    /// <summary>
    /// Two-class blocks: 5% of 4,096 blocks are weaker by 0.04 V. At 0.48 V an ordinary block of 4,096 cells has about
    /// 220 failing cells and a weak one about 870, so the blocks ranked by failing cells put the weak ones first.
    /// </summary>
    [Test]
    public void TopTenPercentOfBlocksHoldTheShareTheModelPredicts()
    {
        const int blocks = 4096, rows = 64, bits = 64;
        const double weakShare = 0.05, weakOffset = 0.04, volts = 0.48;
        var profile = ProfileJson.Sram(blocks, rows, bits, minVoltage: volts)
            .Set("blockOffsets", new JsonObject { ["distribution"] = "two-class", ["weakShare"] = weakShare, ["weakOffset"] = weakOffset }).Parse();
        var chip = EmulatedChip.Generate(profile);
        var model = chip.Model;
        var op = new OperatingPoint(volts);
        double threshold = model.ThresholdAt(op);
        var counts = Enumerable.Range(0, blocks).Select(b => (double)chip.FailingCount(b, threshold)).OrderDescending().ToArray();
        int top = blocks / 10;
        double measured = counts.Take(top).Sum() / counts.Sum();
        double analytic = model.Top10BlockShare(op);

        int n = rows * bits;
        double ps = model.BlockFailureProbability(threshold, 0), pw = model.BlockFailureProbability(threshold, weakOffset);
        int weakBlocks = chip.BlockOffsets.Count(o => o > 0);
        Binomial.AssertWithinFourSigma(weakBlocks, blocks, weakShare, "weak blocks K");

        // Over chips the number of weak blocks K is binomial(4096, 0.05): the share may move with K over its 4-sigma band.
        double muK = blocks * weakShare, sdK = Binomial.Sigma(blocks, weakShare);
        var (lo, hi) = ShareBand((int)Math.Floor(muK - 4 * sdK), (int)Math.Ceiling(muK + 4 * sdK), blocks, top, n, ps, pw);
        double tolerance = Math.Max(hi - analytic, analytic - lo);
        // For this chip K is known: only the per-block binomial counts remain.
        var (chipLo, chipHi) = ShareBand(weakBlocks, weakBlocks, blocks, top, n, ps, pw);
        string figures = $"top-10% share: measured {measured:F4}, model {analytic:F4}, tolerance {tolerance:F4} (K band [{lo:F4}, {hi:F4}]); " +
                         $"this chip (K = {weakBlocks}): [{chipLo:F4}, {chipHi:F4}]; ordinary block {n * ps:F0} cells, weak {n * pw:F0}";
        TestContext.Out.WriteLine(figures);
        Assert.That(analytic, Is.InRange(lo, hi), figures);
        Assert.That(measured, Is.EqualTo(analytic).Within(tolerance), figures);
        Assert.That(measured, Is.InRange(chipLo, chipHi), figures);
        Assert.That(measured, Is.GreaterThan(0.15), "faults concentrate: a uniform chip would give 0.10");
    }

    /// <summary>
    /// Bounds on the top-10% share for K weak blocks in [kFrom, kTo]. Block counts are binomial(n, p) (ordinary or weak p):
    /// the top blocks' sum is within 4 sigma of its mean, the total within 4 sigma of its own, and ranking by count can
    /// only raise the top sum, by at most 4 sigma for each block picked among blocks of the same class.
    /// </summary>
    private static (double Lo, double Hi) ShareBand(int kFrom, int kTo, int blocks, int top, int n, double ps, double pw)
    {
        double s = n * ps, w = n * pw, vs = n * ps * (1 - ps), vw = n * pw * (1 - pw);
        double lo = double.MaxValue, hi = double.MinValue;
        for (int k = kFrom; k <= kTo; k++)
        {
            int weakTop = Math.Min(k, top), ordinaryTop = top - weakTop;
            double topMean = weakTop * w + ordinaryTop * s, topSigma = Math.Sqrt(weakTop * vw + ordinaryTop * vs);
            double total = k * w + (blocks - k) * s, totalSigma = Math.Sqrt(k * vw + (blocks - k) * vs);
            double picked = k > top ? weakTop * 4 * Math.Sqrt(vw) : ordinaryTop * 4 * Math.Sqrt(vs);
            lo = Math.Min(lo, (topMean - 4 * topSigma) / (total + 4 * totalSigma));
            hi = Math.Max(hi, (topMean + picked + 4 * topSigma) / (total - 4 * totalSigma));
        }
        return (lo, hi);
    }

    [Test]
    public void WeakCellsAreSortedDistinctAndBeyondTheFloor()
    {
        var profile = ProfileJson.SramHeterogeneous()
            .Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.75 })
            .Set("transient", new JsonObject { ["share"] = 0.25, ["readFailureProbability"] = 0.5 }).Parse();
        var chip = EmulatedChip.Generate(profile);
        var g = profile.Geometry;
        double floor = chip.Model.Floor;
        long total = 0, stuckAtOne = 0, marginal = 0;
        var problems = new List<string>();
        for (int b = 0; b < g.Blocks; b++)
        {
            var cells = chip.WeakCells(b);
            var offsets = new HashSet<int>();
            for (int i = 0; i < cells.Length; i++)
            {
                var c = cells[i];
                if (!(c.Latent > floor)) problems.Add($"block {b} cell {i}: latent {c.Latent} is not beyond the floor {floor}");
                if (i > 0 && c.Latent > cells[i - 1].Latent) problems.Add($"block {b} cell {i}: not sorted most fragile first");
                if (c.Offset < 0 || c.Offset >= g.BitsPerBlock) problems.Add($"block {b} cell {i}: offset {c.Offset} outside the block");
                if (!offsets.Add(c.Offset)) problems.Add($"block {b}: cell {c.Offset} drawn twice");
                if (c.StuckValue) stuckAtOne++;
                if (c.Marginal) marginal++;
            }
            if (chip.FailingCount(b, floor) != cells.Length) problems.Add($"block {b}: not every weak cell fails at the floor");
            if (chip.FailingCount(b, double.MaxValue) != 0) problems.Add($"block {b}: cells fail at an infinite threshold");
            total += cells.Length;
        }
        Assert.That(problems, Is.Empty);
        Assert.That(total, Is.GreaterThan(10_000));
        Assert.That(chip.WeakCellCount, Is.EqualTo(total));
        // Each weak cell is stuck at 1 with probability 1 - 0.75 and marginal with probability 0.25.
        Binomial.AssertWithinFourSigma(stuckAtOne, total, 0.25, "weak cells stuck at 1");
        Binomial.AssertWithinFourSigma(marginal, total, 0.25, "marginal weak cells");
    }

    [Test]
    public void GenerationIsTheSameOnOneAndTwoThreads()
    {
        var profile = ProfileJson.SramHeterogeneous()
            .Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.5 })
            .Set("transient", new JsonObject { ["share"] = 0.3, ["readFailureProbability"] = 0.5 }).Parse();
        var one = EmulatedChip.Generate(profile, threads: 1);
        var two = EmulatedChip.Generate(profile, threads: 2);
        Assert.That(two.Seed, Is.EqualTo(one.Seed));
        Assert.That(two.BlockOffsets, Is.EqualTo(one.BlockOffsets));
        Assert.That(two.WeakCellCount, Is.EqualTo(one.WeakCellCount));
        for (int b = 0; b < profile.Geometry.Blocks; b++)
        {
            Assert.That(two.WeakBitlines(b), Is.EqualTo(one.WeakBitlines(b)), $"block {b} bitlines");
            Assert.That(two.WeakWordlines(b), Is.EqualTo(one.WeakWordlines(b)), $"block {b} wordlines");
            Assert.That(two.WeakCells(b).SequenceEqual(one.WeakCells(b)), Is.True, $"block {b} weak cells");
        }
    }

    [Test]
    public void TheChipSeedSelectsTheChip()
    {
        var profile = ProfileJson.SramHeterogeneous().Set("chipSeed", 5).Parse();
        var byProfile = EmulatedChip.Generate(profile);
        var five = EmulatedChip.Generate(profile, seed: 5);
        var six = EmulatedChip.Generate(profile, seed: 6);
        Assert.That(byProfile.Seed, Is.EqualTo(5));
        Assert.That(five.WeakCells(0).SequenceEqual(byProfile.WeakCells(0)), Is.True);
        Assert.That(six.Seed, Is.EqualTo(6));
        Assert.That(six.BlockOffsets, Is.Not.EqualTo(five.BlockOffsets));
        Assert.That(six.WeakCells(0).SequenceEqual(five.WeakCells(0)), Is.False);
    }

    [Test]
    public void MarginalCellsFailOnAReproducibleShareOfReads()
    {
        var profile = ProfileJson.Sram().Set("transient", new JsonObject { ["share"] = 1.0, ["readFailureProbability"] = 0.3 }).Parse();
        var chip = EmulatedChip.Generate(profile, seed: 3);
        const int trials = 20, offsets = 10_000;
        long fails = 0, changed = 0, unstable = 0;
        for (int t = 0; t < trials; t++)
            for (int o = 0; o < offsets; o++)
            {
                bool f = chip.FailsOnRead(t, o % 7, o);
                if (chip.FailsOnRead(t, o % 7, o) != f) unstable++;
                if (f) fails++;
                if (f != chip.FailsOnRead(t + 1, o % 7, o)) changed++;
            }
        Assert.That(unstable, Is.Zero, "the same (trial, block, cell) always gives the same answer");
        Binomial.AssertWithinFourSigma(fails, (double)trials * offsets, 0.3, "reads a marginal cell fails");
        // Two independent reads disagree with probability 2 p (1 - p).
        Binomial.AssertWithinFourSigma(changed, (double)trials * offsets, 2 * 0.3 * 0.7, "reads that differ from the next trial's");
    }

    [Test]
    public void RefusesBlocksTooLargeToEmulate()
    {
        var profile = ProfileJson.Sram(blocks: 1, rows: 65536, bitsPerRow: 65536, minVoltage: 0.6).Parse("huge.json");
        Assert.That(() => EmulatedChip.Generate(profile), Throws.TypeOf<ProfileException>()
            .With.Message.Contains("huge.json").And.Message.Contains("too large to emulate"));
    }
}
