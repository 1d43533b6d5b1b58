using System.Text.Json.Nodes;
using HilBench.Bnn.Model;
using HilBench.Bnn.Tensors;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class ReplayBackendTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = new TempDirectory();

    [TearDown]
    public void RemoveDirectory() => _dir.Dispose();

    /// <summary>What a board run writes: the faulty cells of a readout and what they read.</summary>
    private static RecordedRead Record(MemoryReadout readout, MemoryGeometry geometry, int? trial) =>
        new(readout.Request.Point, trial, readout.Faults.Select(f =>
        {
            var a = geometry.Address(f.Cell);
            return new RecordedFault(a.Block, a.Row, a.Bit, f.Read);
        }).ToArray());

    private FaultMap SaveAndLoad(FaultMap map)
    {
        string path = _dir.File($"map{Guid.NewGuid():N}.csv");
        map.Save(path);
        return FaultMap.Load(path);
    }

    [Test]
    public void ReplayOfARecordedMapReproducesTheFaults()
    {
        var profile = Repo.BramLike();
        var image = WeightImage.FromModel(Repo.Mlp, includeThresholds: true);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        double[] volts = [0.56, 0.55, 0.54];
        var readouts = volts.Select(v => sram.Load(new LoadRequest(new OperatingPoint(v)))).ToArray();
        var map = SaveAndLoad(new FaultMap(profile.Geometry, readouts.Select(r => Record(r, profile.Geometry, null)).ToArray(), sram.Name));
        Assert.That(map.Description, Is.EqualTo(sram.Name));

        using var replay = new ReplayBackend(map);
        Assert.That(replay.Traits.Persistent, Is.True, "a map without trial numbers stands for every trial");
        Assert.That(replay.Geometry, Is.EqualTo(profile.Geometry));
        replay.Store(image);
        for (int i = 0; i < volts.Length; i++)
        {
            var again = replay.Load(new LoadRequest(new OperatingPoint(volts[i]), Trial: 3));
            Assert.That(readouts[i].Faults, Is.Not.Empty);
            Assert.That(again.Faults, Is.EqualTo(readouts[i].Faults), $"{volts[i]} V");
            Assert.That(again.Image.ContentEquals(readouts[i].Image), Is.True);
        }
        Assert.That(replay.Load(new LoadRequest(OperatingPoint.Parse("V=540mV"))).Faults, Is.EqualTo(readouts[2].Faults), "the point may be written differently");
    }

    [Test]
    public void ReplayOfPerTrialReadsNeedsTheTrial()
    {
        var profile = ProfileJson.Sram().Set("transient", new JsonObject { ["share"] = 1.0, ["readFailureProbability"] = 0.5 }).Parse();
        var model = ModelBuilder.FromSpec("dense512,dense512,dense10", new TensorShape(1, 1, 1024), new Random(2));
        var image = WeightImage.FromModel(model);
        using var sram = new EmulatedSram(profile);
        sram.Store(image);
        var op = new OperatingPoint(0.55);
        var trial0 = sram.Load(new LoadRequest(op, 0));
        var trial1 = sram.Load(new LoadRequest(op, 1));
        Assert.That(trial1.Faults, Is.Not.EqualTo(trial0.Faults));
        var map = SaveAndLoad(new FaultMap(profile.Geometry, [Record(trial0, profile.Geometry, 0), Record(trial1, profile.Geometry, 1)]));

        using var replay = new ReplayBackend(map);
        Assert.That(replay.Traits.Persistent, Is.False);
        replay.Store(image);
        Assert.That(replay.Load(new LoadRequest(op, 0)).Faults, Is.EqualTo(trial0.Faults));
        Assert.That(replay.Load(new LoadRequest(op, 1)).Faults, Is.EqualTo(trial1.Faults));
        Assert.That(() => replay.Load(new LoadRequest(op, 2)), Throws.TypeOf<MemoryBackendException>()
            .With.Message.Contains("2 reads at V=0.55,T=25 (trials 0, 1), not trial 2"));
    }

    [Test]
    public void AnUnrecordedPointIsRefusedNamingTheRecordedOnes()
    {
        var g = MemoryGeometry.Parse("4x32x64");
        var map = new FaultMap(g, [new RecordedRead(new OperatingPoint(0.55), null, []), new RecordedRead(new OperatingPoint(0.5, null, 85), null, [])]);
        using var replay = new ReplayBackend(map);
        replay.Store(WeightImage.FromModel(TestImages.SmallMlp()));
        Assert.That(() => replay.Load(new LoadRequest(new OperatingPoint(0.6))), Throws.TypeOf<MemoryBackendException>()
            .With.Message.Contains("no read at V=0.6,T=25").And.Message.Contains("it has V=0.55,T=25, V=0.5,T=85"));
        Assert.That(replay.Load(new LoadRequest(new OperatingPoint(0.55))).Faults, Is.Empty);
        var perPartition = new LoadRequest(new OperatingPoint(0.55)) { PartitionPoints = new Dictionary<string, OperatingPoint> { ["all"] = new(0.5) } };
        Assert.That(() => replay.Load(perPartition), Throws.TypeOf<MemoryBackendException>().With.Message.Contains("per-partition points cannot be replayed"));
    }

    [Test]
    public void RecordedReadValuesApplyOnlyWhereTheyDiffer()
    {
        var g = MemoryGeometry.Parse("4x32x64");
        var image = WeightImage.FromModel(TestImages.SmallMlp()); // 6,464 bits in cells 0..6463
        long zeroBit = Enumerable.Range(0, 6464).First(i => !image[i]), oneBit = Enumerable.Range(0, 6464).First(i => image[i]);
        RecordedFault At(long cell, bool? read) { var a = g.Address(cell); return new RecordedFault(a.Block, a.Row, a.Bit, read); }
        var map = new FaultMap(g, [new RecordedRead(new OperatingPoint(0.5), null,
        [
            At(zeroBit, true),   // reads 1 where 0 is stored: a fault
            At(oneBit, true),    // reads 1 where 1 is stored: no fault
            At(100, null),       // reads the inverse: always a fault
            At(8191, false),     // a cell the image does not use
        ])]);
        using var replay = new ReplayBackend(map);
        replay.Store(image);
        var faults = replay.Load(new LoadRequest(new OperatingPoint(0.5))).Faults;
        var expected = new[] { new Fault(zeroBit, zeroBit, false, true), new Fault(100, 100, image[100], !image[100]) }.OrderBy(f => f.ImageBit);
        Assert.That(faults, Is.EqualTo(expected));
    }

    [Test]
    public void RefusesAPlacementForAnotherGeometry()
    {
        var map = new FaultMap(MemoryGeometry.Parse("4x32x64"), [new RecordedRead(new OperatingPoint(0.5), null, [])]);
        using var replay = new ReplayBackend(map, i => Placement.Create(i.Layout, MemoryGeometry.Parse("8x32x64")));
        Assert.That(() => replay.Store(WeightImage.FromModel(TestImages.SmallMlp())), Throws.ArgumentException
            .With.Message.Contains("placement is for geometry 8x32x64, but the fault map is 4x32x64"));
    }
}
