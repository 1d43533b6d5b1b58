using System.Text.Json.Nodes;
using HilBench.Memory.Backends;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class EmulatedDramTests
{
    private EmulatedDram _ddr4 = null!;
    private WeightImage _mlp = null!;

    /// <summary>One emulated ddr4-like chip holding the real MLP (5.8 of its 16.8 Mbit), shared by the sweeps.</summary>
    [OneTimeSetUp]
    public void StoreTheMlp()
    {
        _ddr4 = new EmulatedDram(Repo.Ddr4Like());
        _mlp = WeightImage.FromModel(Repo.Mlp);
        _ddr4.Store(_mlp);
    }

    [OneTimeTearDown]
    public void Dispose() => _ddr4.Dispose();

    private int Faults(double volts, double trcd) => _ddr4.Load(new LoadRequest(new OperatingPoint(volts, trcd))).Faults.Count;

    [Test]
    public void ErrorsRiseStrictlyAsTrcdFalls()
    {
        double[] trcd = [13.5, 11, 10.5, 10, 9.5];
        var counts = trcd.Select(t => Faults(1.1, t)).ToArray();
        TestContext.Out.WriteLine("ddr4-like + MLP at 1.1 V, faults by tRCD: " + string.Join(", ", trcd.Select((t, i) => $"{t} ns: {counts[i]}")));
        for (int i = 2; i < counts.Length; i++)
            Assert.That(counts[i], Is.GreaterThan(counts[i - 1]), $"tRCD {trcd[i]} ns vs {trcd[i - 1]} ns");
        Assert.That(counts[0], Is.LessThanOrEqualTo(counts[1]));
        Assert.That(counts[0], Is.Zero, "nominal tRCD at 1.1 V is safe");
    }

    [Test]
    public void ErrorsRiseStrictlyAsVoltageFalls()
    {
        double[] volts = [1.2, 1.15, 1.125, 1.1];
        var counts = volts.Select(v => Faults(v, 10)).ToArray();
        TestContext.Out.WriteLine("ddr4-like + MLP at tRCD 10 ns, faults by V: " + string.Join(", ", volts.Select((v, i) => $"{v} V: {counts[i]}")));
        for (int i = 1; i < counts.Length; i++)
            Assert.That(counts[i], Is.GreaterThan(counts[i - 1]), $"{volts[i]} V vs {volts[i - 1]} V");
        // The profile quotes 6.3e-4 failing cells at 1.1 V and 10 ns, half of them wrong on random data, part of them
        // transient: the BER is of order 1e-4 (this chip's weak subarrays decide the exact figure).
        double ber = _ddr4.Load(new LoadRequest(new OperatingPoint(1.1, 10))).BitErrorRate;
        Assert.That(ber, Is.InRange(1e-5, 1e-3));
    }

    [Test]
    public void HeatAddsFaults()
    {
        var cool = _ddr4.Load(new LoadRequest(new OperatingPoint(1.15, 10, 25))).Faults.Count;
        var hot = _ddr4.Load(new LoadRequest(new OperatingPoint(1.15, 10, 55))).Faults.Count;
        Assert.That(hot, Is.GreaterThan(cool));
    }

    /// <summary>
    /// A flipping DRAM without heterogeneity, holding an image that fills all 1,048,576 cells: faults are binomial(cells, p),
    /// with p from the critical-tRCD model at each (V, tRCD, T).
    /// </summary>
    [TestCase(1.2, 9.0, 25.0)]
    [TestCase(1.15, 9.5, 25.0)]
    [TestCase(1.1, 10.0, 45.0)]
    [TestCase(1.1, 9.0, 65.0)]
    public void FaultsOfAFullImageMatchTheProfile(double volts, double trcd, double celsius)
    {
        var profile = ProfileJson.Dram().Parse();
        using var dram = new EmulatedDram(profile);
        dram.Store(TestImages.Filling(profile.Geometry));
        var op = new OperatingPoint(volts, trcd, celsius);
        Binomial.AssertWithinFourSigma(dram.Load(new LoadRequest(op)).Faults.Count, profile.Geometry.TotalBits, profile.Model.FailureProbability(op),
            $"synthetic DRAM full-image faults at {op}");
    }

    /// <summary>Rows alternate in groups of 8 between true cells (fail to 0) and anti cells (fail to 1).</summary>
    [Test]
    public void AntiCellRowGroupsSetWhatAFaultReads()
    {
        const int group = 8;
        var profile = ProfileJson.Dram().Set("polarity", new JsonObject { ["mode"] = "stuck", ["antiCellRowGroup"] = group }).Parse();
        using var dram = new EmulatedDram(profile);
        dram.Store(TestImages.Filling(profile.Geometry, seed: 2));
        var faults = dram.Load(new LoadRequest(new OperatingPoint(1.1, 10, 45))).Faults;
        var g = profile.Geometry;
        int trueCell = 0, antiCell = 0;
        foreach (var f in faults)
        {
            bool anti = g.Address(f.Cell).Row / group % 2 == 1;
            Assert.That(f.Read, Is.EqualTo(anti), $"cell {f.Cell} ({g.Address(f.Cell)}) is a{(anti ? "n anti" : " true")} cell");
            Assert.That(f.Stored, Is.Not.EqualTo(f.Read));
            if (anti) antiCell++; else trueCell++;
        }
        TestContext.Out.WriteLine($"anti-cell groups: {trueCell} faults in true-cell rows (read 0), {antiCell} in anti-cell rows (read 1)");
        Assert.That(trueCell, Is.GreaterThan(100));
        Assert.That(antiCell, Is.GreaterThan(100));
    }

    [Test]
    public void RefusesAnSramProfileAndTrcdOutsideItsRange()
    {
        Assert.That(() => new EmulatedDram(ProfileJson.Sram().Parse("s.json")), Throws.TypeOf<ProfileException>()
            .With.Message.Contains("is a SRAM profile, not DRAM"));
        Assert.That(() => _ddr4.Load(new LoadRequest(new OperatingPoint(1.2, 5))), Throws.TypeOf<OperatingPointException>().With.Message.Contains("range.tRCD"));
        using (var dram = EmulatedMemory.For(ProfileJson.Dram().Parse())) Assert.That(dram, Is.TypeOf<EmulatedDram>());
        using (var sram = EmulatedMemory.For(ProfileJson.Sram().Parse())) Assert.That(sram, Is.TypeOf<EmulatedSram>());
        Assert.That(_ddr4.Name, Is.EqualTo("emulated DRAM ddr4-like (chip 1)"));
    }
}
