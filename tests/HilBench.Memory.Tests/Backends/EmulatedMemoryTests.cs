using System.Text.Json.Nodes;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class EmulatedMemoryTests
{
    /// <summary>Heterogeneous, stuck polarity and a transient part: every random draw of the emulator is in play.</summary>
    private static ProfileJson Everything() => ProfileJson.SramHeterogeneous()
        .Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.7 })
        .Set("transient", new JsonObject { ["share"] = 0.3, ["readFailureProbability"] = 0.5 });

    private static LoadRequest At(double volts, int trial = 0) => new(new OperatingPoint(volts), trial);

    [Test]
    public void LoadsAreTheSameOnOneAndTwoThreads()
    {
        var profile = Everything().Parse();
        var image = TestImages.Filling(profile.Geometry);
        using var one = new EmulatedSram(profile, threads: 1);
        using var two = new EmulatedSram(profile, threads: 2);
        one.Store(image);
        two.Store(image);
        foreach (var request in new[] { At(0.53), At(0.53, 1), At(0.56, 7) })
        {
            var a = one.Load(request);
            var b = two.Load(request);
            Assert.That(a.Faults, Is.Not.Empty);
            Assert.That(b.Faults, Is.EqualTo(a.Faults), $"{request.Point} trial {request.Trial}");
            Assert.That(b.Image.ContentEquals(a.Image), Is.True);
        }
    }

    [Test]
    public void SameProfileSeedPointAndTrialGiveTheSameFaults()
    {
        var profile = Everything().Parse();
        var image = WeightImage.FromModel(TestImages.SmallConv(), includeThresholds: true);
        using var first = new EmulatedSram(profile);
        using var second = new EmulatedSram(Everything().Parse());
        using var otherChip = new EmulatedSram(profile, chipSeed: 2);
        first.Store(image);
        second.Store(image);
        otherChip.Store(image);
        var request = At(0.52, 3);
        var faults = first.Load(request).Faults;
        Assert.That(faults, Is.Not.Empty);
        Assert.That(second.Load(request).Faults, Is.EqualTo(faults), "another backend built from the same profile");
        Assert.That(first.Load(request).Faults, Is.EqualTo(faults), "the same backend again");
        Assert.That(otherChip.Chip.Seed, Is.EqualTo(2));
        Assert.That(otherChip.Load(request).Faults, Is.Not.EqualTo(faults), "another chip seed is another chip");
        Assert.That(otherChip.Name, Does.Contain("(chip 2)"));
    }

    [Test]
    public void FaultsAreSortedAndMatchTheImage()
    {
        var profile = Everything().Parse();
        var image = WeightImage.FromModel(ModelBuilder.FromSpec("dense512,dense256,dense10", new TensorShape(1, 1, 1024), new Random(3)), includeThresholds: true);
        using var sram = new EmulatedSram(profile, placement: i => Placement.Create(i.Layout, profile.Geometry, PlacementPolicy.WordInterleaved));
        sram.Store(image);
        var readout = sram.Load(At(0.53, 1));
        Assert.That(readout.Faults.Select(f => f.ImageBit), Is.Ordered.Ascending.And.Unique);
        Assert.That(readout.Image.Distance(image), Is.EqualTo(readout.Faults.Count));
        var placement = sram.Placement!;
        foreach (var f in readout.Faults)
        {
            Assert.That(placement.CellOf(f.ImageBit), Is.EqualTo(f.Cell));
            Assert.That(f.Stored, Is.EqualTo(image[f.ImageBit]));
            Assert.That(readout.Image[f.ImageBit], Is.EqualTo(f.Read).And.Not.EqualTo(f.Stored));
        }
        Assert.That(readout.Faults.Select(f => profile.Geometry.Address(f.Cell).Block).Distinct().Count(), Is.GreaterThan(200),
            "word interleaving spreads the image, and its faults, over the blocks");
    }

    /// <summary>
    /// dense512,dense512,dense10 on 1,024 inputs: model block 0 (512 x 1024 weights and 512 thresholds) in partition A,
    /// memory blocks 0-63; blocks 1 and 2 in partition B, blocks 64-255, word-interleaved.
    /// </summary>
    [TestCase("A")]
    [TestCase("B")]
    public void OnlyThePartitionRunningLowHasFaults(string low)
    {
        var profile = ProfileJson.Sram().Parse();
        var (sram, image) = TwoPartitionSram(profile);
        using var disposeSram = sram;
        var request = At(1.0) with { PartitionPoints = new Dictionary<string, OperatingPoint> { [low] = new(0.52) } };
        var readout = sram.Load(request);
        int[] lowBlocks = low == "A" ? [0] : [1, 2];
        long lowBits = image.Layout.Regions.Where(r => lowBlocks.Contains(r.Block)).Sum(r => r.Length);
        TestContext.Out.WriteLine($"partition {low} at 0.52 V ({lowBits} bits), the other at 1.0 V: {readout.Faults.Count} faults");
        Assert.That(readout.Faults, Has.Count.GreaterThan(100));
        foreach (var f in readout.Faults)
        {
            Assert.That(lowBlocks, Does.Contain(image.Layout.Locate(f.ImageBit).Region.Block), $"image bit {f.ImageBit}");
            Assert.That(sram.Placement!.PartitionOfBlock(profile.Geometry.Address(f.Cell).Block), Is.EqualTo(low == "A" ? 0 : 1));
        }
        // Flip polarity: every failing cell of the low partition is a fault, binomial(bits, p(0.52 V)).
        Binomial.AssertWithinFourSigma(readout.Faults.Count, lowBits, profile.Model.FailureProbability(new OperatingPoint(0.52)), $"faults of partition {low}");
        Assert.That(sram.Load(At(1.0)).Faults, Is.Empty, "everything at nominal: no faults");
        var outside = At(1.0) with { PartitionPoints = new Dictionary<string, OperatingPoint> { [low] = new(0.4) } };
        Assert.That(() => sram.Load(outside), Throws.TypeOf<OperatingPointException>().With.Message.Contains("range.voltage"));
    }

    private static readonly PartitionSpec[] TwoPartitions =
    [
        new("A", [0], 0, 64),
        new("B", [1, 2], 64, 192, PlacementPolicy.WordInterleaved),
    ];

    private static (EmulatedSram Sram, WeightImage Image) TwoPartitionSram(DeviceProfile profile)
    {
        var model = ModelBuilder.FromSpec("dense512,dense512,dense10", new TensorShape(1, 1, 1024), new Random(8));
        var image = WeightImage.FromModel(model, includeThresholds: true);
        var sram = new EmulatedSram(profile, placement: i => Placement.Create(i.Layout, profile.Geometry, TwoPartitions));
        sram.Store(image);
        return (sram, image);
    }

    [Test]
    public void RefusesAPointForAPartitionThePlacementDoesNotHave()
    {
        var (sram, _) = TwoPartitionSram(ProfileJson.Sram().Parse());
        using var disposeSram = sram;
        var misspelt = At(1.0) with { PartitionPoints = new Dictionary<string, OperatingPoint> { ["A"] = new(0.6), ["b"] = new(0.52) } };
        var e = Assert.Throws<OperatingPointException>(() => sram.Load(misspelt));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("partition 'b'").And.Contain("partitions are 'A', 'B'").And.Contain("use one of those names"));
    }

    [Test]
    public void ReadEnergyChargesEveryPartitionAtItsOwnPoint()
    {
        var profile = ProfileJson.Sram()
            .Set("energy", new JsonObject { ["dynamicPicojoulesPerAccess"] = 10, ["leakageMilliwatts"] = 25, ["leakageVoltageExponent"] = 3, ["accessNanoseconds"] = 5 })
            .Parse();
        var (sram, image) = TwoPartitionSram(profile);
        using var disposeSram = sram;
        long bitsA = image.Layout.Regions.Where(r => r.Block == 0).Sum(r => r.Length), bitsB = image.BitCount - bitsA;
        var m = profile.Model;

        var whole = sram.Load(At(0.6));
        Assert.That(whole.EnergyJoules, Is.EqualTo(m.ReadEnergyJoules(new OperatingPoint(0.6), image.BitCount)).Within(1e-9).Percent);

        var split = sram.Load(At(1.0) with { PartitionPoints = new Dictionary<string, OperatingPoint> { ["A"] = new(0.6) } });
        double expected = m.ReadEnergyJoules(new OperatingPoint(0.6), bitsA)!.Value + m.ReadEnergyJoules(new OperatingPoint(1.0), bitsB)!.Value;
        Assert.That(split.EnergyJoules, Is.EqualTo(expected).Within(1e-9).Percent);
        Assert.That(split.NominalEnergyJoules, Is.EqualTo(m.ReadEnergyJoules(profile.Nominal, image.BitCount)).Within(1e-9).Percent);
        Assert.That(split.EnergySaving, Is.GreaterThan(0).And.LessThan(whole.EnergySaving!.Value), "lowering one partition saves part of what lowering all does");
    }

    [Test]
    public void RefusesAPlacementThatDoesNotFit()
    {
        var profile = ProfileJson.Sram().Parse();
        var image = WeightImage.FromModel(TestImages.SmallMlp());
        using var wrongGeometry = new EmulatedSram(profile, placement: i => Placement.Create(i.Layout, MemoryGeometry.Parse("16x16x64")));
        Assert.That(() => wrongGeometry.Store(image), Throws.ArgumentException
            .With.Message.Contains("placement is for geometry 16x16x64").And.Message.Contains("test-sram is 256x256x64"));
        var otherLayout = WeightImage.LayoutOf(TestImages.SmallConv(), thresholds: false);
        using var wrongLayout = new EmulatedSram(profile, placement: _ => Placement.Create(otherLayout, profile.Geometry));
        Assert.That(() => wrongLayout.Store(image), Throws.ArgumentException.With.Message.Contains("another image layout"));
        using var tooSmall = new EmulatedSram(ProfileJson.Sram(blocks: 1, rows: 16).Parse());
        Assert.That(() => tooSmall.Store(image), Throws.TypeOf<PlacementException>().With.Message.Contains("give it more blocks"));
    }
}
