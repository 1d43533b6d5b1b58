using System.Text.Json.Nodes;
using HilBench.Memory.Backends;
using HilBench.Memory.Emulation;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class EmulatedSramTests
{
    private static readonly double[] Volts = [0.52, 0.55, 0.58, 0.60];

    private static long FailingCells(EmulatedChip chip, OperatingPoint op)
    {
        double threshold = chip.Model.ThresholdAt(op);
        return Enumerable.Range(0, chip.Profile.Geometry.Blocks).Sum(b => (long)chip.FailingCount(b, threshold));
    }

    private static MemoryReadout Load(IMemoryBackend backend, double volts, int trial = 0) => backend.Load(new LoadRequest(new OperatingPoint(volts), trial));

    /// <summary>
    /// A flipping chip without heterogeneity, holding an image that fills all 4,194,304 cells: every failing cell is a
    /// fault, and failing cells are binomial(cells, p(V)).
    /// </summary>
    [Test]
    public void FaultsOfAFullImageMatchTheProfile()
    {
        var profile = ProfileJson.Sram().Parse();
        var image = TestImages.Filling(profile.Geometry);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        foreach (double v in Volts)
        {
            var readout = Load(sram, v);
            Assert.That(readout.Faults, Has.Count.EqualTo(FailingCells(sram.Chip, new OperatingPoint(v))), "with flip polarity every failing cell is a wrong bit");
            Binomial.AssertWithinFourSigma(readout.Faults.Count, profile.Geometry.TotalBits, profile.Model.FailureProbability(new OperatingPoint(v)),
                $"full-image faults at {v} V");
            Assert.That(readout.Faults.All(f => f.Cell == f.ImageBit && f.Read != f.Stored), Is.True, "contiguous placement of a full image: cell = image bit");
            Assert.That(readout.Image.Distance(image), Is.EqualTo(readout.Faults.Count));
        }
    }

    /// <summary>With offsets and weak lines the count is a sum of binomials around this chip's expectation (variance at most the mean).</summary>
    [Test]
    public void FaultsOfAHeterogeneousChipMatchItsExpectation()
    {
        var profile = ProfileJson.SramHeterogeneous().Parse();
        var image = TestImages.Filling(profile.Geometry);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        foreach (double v in Volts)
        {
            double threshold = sram.Chip.Model.ThresholdAt(new OperatingPoint(v));
            double expected = Enumerable.Range(0, profile.Geometry.Blocks).Sum(b => sram.Chip.ExpectedFailingCells(threshold, b));
            Binomial.AssertWithinFourSigmaOfSum(Load(sram, v).Faults.Count, expected, $"heterogeneous full-image faults at {v} V");
        }
    }

    /// <summary>The shipped BRAM profile holding the real MLP: lowering the voltage only adds faults.</summary>
    [Test]
    public void FaultsAreNestedAsTheVoltageFalls()
    {
        using var sram = new EmulatedSram(Repo.BramLike());
        sram.Store(WeightImage.FromModel(Repo.Mlp));
        double[] volts = [0.60, 0.58, 0.56, 0.55, 0.54];
        var faults = volts.Select(v => Load(sram, v).Faults).ToArray();
        TestContext.Out.WriteLine("bram-like + MLP faults: " + string.Join(", ", volts.Select((v, i) => $"{v} V: {faults[i].Count}")));
        for (int i = 1; i < volts.Length; i++)
        {
            Assert.That(faults[i], Is.SupersetOf(faults[i - 1]), $"faults at {volts[i]} V include those at {volts[i - 1]} V");
            Assert.That(faults[i].Count, Is.GreaterThanOrEqualTo(faults[i - 1].Count));
        }
        Assert.That(faults[^1].Count, Is.GreaterThan(faults[2].Count).And.GreaterThan(100), "0.54 V has clearly more faults than 0.56 V");
        Assert.That(Load(sram, 0.54, trial: 5).Faults, Is.EqualTo(faults[^1]), "no transient part: every trial is the same");
        // Mostly stuck at 0 (share 0.9): most faults lose a stored one.
        Assert.That(faults[^1].Count(f => f.Stored), Is.GreaterThan(faults[^1].Count / 2));
    }

    /// <summary>A cell stuck at 0 is only wrong where a 1 is stored, and the reverse.</summary>
    [TestCase(1.0)]
    [TestCase(0.0)]
    public void StuckCellsOnlyErrWhereTheOtherValueIsStored(double stuckAtZeroShare)
    {
        var profile = ProfileJson.Sram().Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = stuckAtZeroShare }).Parse();
        var layout = TestImages.Filling(profile.Geometry).Layout;
        using var sram = new EmulatedSram(profile);
        long failing = FailingCells(sram.Chip, new OperatingPoint(0.55));
        Assert.That(failing, Is.GreaterThan(1000));
        bool stuck = stuckAtZeroShare == 0; // the value every failing cell reads

        sram.Store(TestImages.Constant(layout, stuck));
        Assert.That(Load(sram, 0.55).Faults, Is.Empty, $"all cells hold {(stuck ? 1 : 0)}, the value they are stuck at");
        sram.Store(TestImages.Constant(layout, !stuck));
        var faults = Load(sram, 0.55).Faults;
        Assert.That(faults, Has.Count.EqualTo(failing), "every failing cell holds the other value");
        Assert.That(faults.All(f => f.Read == stuck && f.Stored == !stuck), Is.True);
    }

    /// <summary>
    /// Stuck at 0 with probability 0.9, independently of the data: of the failing cells holding a 1, binomial(N1, 0.9)
    /// are wrong, of those holding a 0, binomial(N0, 0.1); the total matches the model's error share.
    /// </summary>
    [Test]
    public void StuckPolarityGivesTheModelsErrorShare()
    {
        var profile = ProfileJson.Sram().Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.9 }).Parse();
        var image = TestImages.Filling(profile.Geometry, seed: 4);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        var op = new OperatingPoint(0.53);
        var chip = sram.Chip;
        double threshold = chip.Model.ThresholdAt(op);
        long holdingOne = 0, holdingZero = 0;
        for (int b = 0; b < profile.Geometry.Blocks; b++)
        {
            var cells = chip.WeakCells(b);
            for (int i = 0, n = chip.FailingCount(b, threshold); i < n; i++)
                if (image[b * profile.Geometry.BitsPerBlock + cells[i].Offset]) holdingOne++; else holdingZero++;
        }
        var faults = sram.Load(new LoadRequest(op)).Faults;
        Binomial.AssertWithinFourSigma(faults.Count(f => f.Stored), holdingOne, 0.9, "wrong failing cells holding 1");
        Binomial.AssertWithinFourSigma(faults.Count(f => !f.Stored), holdingZero, 0.1, "wrong failing cells holding 0");
        double onesShare = (double)TestImages.Ones(image) / image.BitCount;
        Binomial.AssertWithinFourSigma(faults.Count, holdingOne + holdingZero, chip.Model.ErrorShare(onesShare), "wrong failing cells");
    }

    /// <summary>
    /// Every failing cell marginal (share 1), failing on half of the reads: a trial's faults are binomial(N, 0.5) of
    /// the N persistent failing cells, differ from trial to trial and repeat for the same trial.
    /// </summary>
    [Test]
    public void TransientFaultsVaryByTrialAndRepeat()
    {
        var profile = ProfileJson.Sram().Set("transient", new JsonObject { ["share"] = 1.0, ["readFailureProbability"] = 0.5 }).Parse();
        var image = TestImages.Filling(profile.Geometry);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        long persistent = FailingCells(sram.Chip, new OperatingPoint(0.55));
        var trials = Enumerable.Range(0, 4).Select(t => Load(sram, 0.55, t).Faults).ToArray();
        for (int t = 0; t < trials.Length; t++)
            Binomial.AssertWithinFourSigma(trials[t].Count, persistent, 0.5, $"trial {t} faults of {persistent} failing cells");
        for (int t = 1; t < trials.Length; t++) Assert.That(trials[t], Is.Not.EqualTo(trials[0]), $"trial {t} differs from trial 0");
        Assert.That(Load(sram, 0.55, 2).Faults, Is.EqualTo(trials[2]), "trial 2 again");
        var union = trials.SelectMany(f => f).Select(f => f.Cell).Distinct().Count();
        Assert.That(union, Is.LessThanOrEqualTo(persistent), "transient faults come only from failing cells");
        Assert.That(sram.Chip.Model.ReadShare, Is.EqualTo(0.5));
    }

    [Test]
    public void ReportsReadEnergy()
    {
        var profile = Repo.BramLike();
        using var sram = new EmulatedSram(profile);
        var image = WeightImage.FromModel(TestImages.SmallMlp());
        sram.Store(image);
        var readout = Load(sram, 0.6);
        Assert.That(readout.EnergyJoules, Is.EqualTo(profile.Model.ReadEnergyJoules(new OperatingPoint(0.6), image.BitCount)));
        Assert.That(readout.NominalEnergyJoules, Is.EqualTo(profile.Model.ReadEnergyJoules(profile.Nominal, image.BitCount)));
        Assert.That(readout.EnergySaving, Is.GreaterThan(0.5).And.LessThan(1));
        Assert.That(sram.Traits, Is.EqualTo(new BackendTraits(Persistent: true, Slow: false, MeasuresOperatingPoint: false, ReportsEnergy: true)));
        Assert.That(sram.Name, Is.EqualTo("emulated SRAM bram-like (chip 1)"));
    }

    [Test]
    public void RefusesADramProfileAndPointsOutsideItsRange()
    {
        Assert.That(() => new EmulatedSram(ProfileJson.Dram().Parse("d.json")), Throws.TypeOf<ProfileException>()
            .With.Message.Contains("d.json").And.Message.Contains("is a DRAM profile, not SRAM"));
        using var sram = new EmulatedSram(ProfileJson.Sram().Parse());
        sram.Store(WeightImage.FromModel(TestImages.SmallMlp()));
        Assert.That(() => Load(sram, 0.5), Throws.TypeOf<OperatingPointException>().With.Message.Contains("range.voltage"));
    }
}
