using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Backends;

[TestFixture]
public class FaultMapTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = new TempDirectory();

    [TearDown]
    public void RemoveDirectory() => _dir.Dispose();

    private static FaultMap Sample() => new(MemoryGeometry.Parse("4x8x16"),
    [
        new RecordedRead(new OperatingPoint(0.55), null, [new(0, 1, 2, true), new(3, 7, 15, false), new(2, 0, 0, null)]),
        new RecordedRead(new OperatingPoint(0.6), null, []),
        new RecordedRead(new OperatingPoint(1.1, 10, 45), 0, [new(1, 1, 1, true)]),
        new RecordedRead(new OperatingPoint(1.1, 10, 45), 1, [new(1, 1, 1, true), new(1, 2, 3, null)]),
    ], "chip 7, board B, 2026-11-29");

    [Test]
    public void SaveAndLoadRoundTrip()
    {
        var map = Sample();
        string path = _dir.File("map.csv");
        map.Save(path);
        Assert.That(File.ReadLines(path).First(), Is.EqualTo(FaultMap.Magic));
        var back = FaultMap.Load(path);
        Assert.That(back.Geometry, Is.EqualTo(map.Geometry));
        Assert.That(back.Description, Is.EqualTo(map.Description));
        Assert.That(back.Reads, Has.Count.EqualTo(map.Reads.Count));
        for (int i = 0; i < map.Reads.Count; i++)
        {
            Assert.That(back.Reads[i].Point.SameAs(map.Reads[i].Point), Is.True, $"read {i}: {back.Reads[i].Point}");
            Assert.That(back.Reads[i].Trial, Is.EqualTo(map.Reads[i].Trial), $"read {i}");
            Assert.That(back.Reads[i].Faults, Is.EqualTo(map.Reads[i].Faults), $"read {i}");
        }
        Assert.That(back.Points.Select(p => p.ToString()), Is.EqualTo(new[] { "V=0.55,T=25", "V=0.6,T=25", "V=1.1,tRCD=10,T=45" }));
        var again = _dir.File("again.csv");
        back.Save(again);
        Assert.That(File.ReadAllText(again), Is.EqualTo(File.ReadAllText(path)), "saving a loaded map gives the same file");
    }

    private const string Header = "# hilbench fault map 1\n# geometry 4x8x16\nop,trial,block,row,bit,read\n";

    private static IEnumerable<TestCaseData> Malformed()
    {
        TestCaseData Case(string name, string text, int line, string message) => new TestCaseData(text, line, message).SetArgDisplayNames(name);
        yield return Case("wrong field count", Header + "V=0.5;T=25,,1,2,3,1\nV=0.5;T=25,,1,2\n", 5, "expected 6 fields (op,trial,block,row,bit,read), got 4");
        yield return Case("block out of range", Header + "V=0.5;T=25,,4,0,0,1\n", 4, "block must be a whole number from 0 to 3, got '4'");
        yield return Case("row out of range", Header + "V=0.5;T=25,,0,8,0,1\n", 4, "row must be a whole number from 0 to 7, got '8'");
        yield return Case("negative bit", Header + "V=0.5;T=25,,0,0,-1,1\n", 4, "bit must be a whole number from 0 to 15, got '-1'");
        yield return Case("bad read value", Header + "V=0.5;T=25,,0,0,0,2\n", 4, "read value must be 0, 1 or empty (inverted), got '2'");
        yield return Case("bad trial", Header + "V=0.5;T=25,x,0,0,0,1\n", 4, "trial must be a whole number");
        yield return Case("bad operating point", Header + "X=0.5,,0,0,0,1\n", 4, "unknown field 'X'");
        yield return Case("bad geometry", "# hilbench fault map 1\n# geometry 4x8\nop,trial,block,row,bit,read\n", 2, "is not BLOCKSxROWSxBITS");
        yield return Case("no column line", "# hilbench fault map 1\n# geometry 4x8x16\nV=0.5;T=25,,0,0,0,1\n", 3, "expected the column line 'op,trial,block,row,bit,read'");
        yield return Case("no geometry", "# hilbench fault map 1\nop,trial,block,row,bit,read\n", 2, "the header has no '# geometry BLOCKSxROWSxBITS' line");
    }

    [TestCaseSource(nameof(Malformed))]
    public void RefusesAMalformedLineNamingIt(string text, int line, string message)
    {
        string path = _dir.File("bad.csv");
        File.WriteAllText(path, text);
        Assert.That(() => FaultMap.Load(path), Throws.TypeOf<FormatException>()
            .With.Message.Contains($"{path}, line {line}: ").And.Message.Contains(message));
    }

    [Test]
    public void RefusesAFileThatIsNotAFaultMap()
    {
        string path = _dir.File("other.csv");
        File.WriteAllText(path, "op,trial,block,row,bit,read\nV=0.5,,0,0,0,1\n");
        Assert.That(() => FaultMap.Load(path), Throws.TypeOf<FormatException>()
            .With.Message.Contains("is not a HilBench fault map").And.Message.Contains($"the first line must be '{FaultMap.Magic}'"));
        string empty = _dir.File("header-only.csv");
        File.WriteAllText(empty, "# hilbench fault map 1\n");
        Assert.That(() => FaultMap.Load(empty), Throws.TypeOf<FormatException>().With.Message.Contains("no '# geometry"));
        Assert.That(() => FaultMap.Load(_dir.File("missing.csv")), Throws.TypeOf<FileNotFoundException>().With.Message.Contains("does not exist"));
    }

    [Test]
    public void RefusesACellListedTwiceInOneRead()
    {
        string path = _dir.File("twice.csv");
        File.WriteAllText(path, Header + "\nV=0.5;T=25,0,1,2,3,1\nV=0.5;T=25,0,0,0,0,1\nV=0.5;T=25,1,1,2,3,1\nV=0.5;T=25,0,1,2,3,0\n");
        var e = Assert.Throws<FormatException>(() => FaultMap.Load(path));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.StartWith(path).And.Contain("block 1, row 2, bit 3 is listed twice in the read at V=0.5,T=25 trial 0").And.Contain("remove the repeated entry"));

        // The same cell in another read (trial 1 above, or another point) is a separate measurement.
        File.WriteAllText(path, Header + "\nV=0.5;T=25,0,1,2,3,1\nV=0.5;T=25,1,1,2,3,1\nV=0.6;T=25,0,1,2,3,1\n");
        Assert.That(FaultMap.Load(path).Reads, Has.Count.EqualTo(3));
        Assert.That(() => new FaultMap(MemoryGeometry.Parse("4x8x16"), [new RecordedRead(new OperatingPoint(0.5), null, [new(1, 2, 3, true), new(1, 2, 3, null)])]),
            Throws.ArgumentException.With.Message.Contain("block 1, row 2, bit 3 is listed twice in the read at V=0.5,T=25;"));
    }

    [Test]
    public void RefusesTwoReadsOfOnePointAndTrial()
    {
        var g = MemoryGeometry.Parse("4x8x16");
        RecordedRead Read(double v, int? trial) => new(new OperatingPoint(v), trial, [new(1, 2, 3, true)]);
        Assert.That(() => new FaultMap(g, [Read(0.6, null), Read(0.55, null), Read(0.6, null)]),
            Throws.ArgumentException.With.Message.Contain("two reads at V=0.6,T=25 without a trial number").And.Message.Contain("trials 0, 1"));
        Assert.That(() => new FaultMap(g, [Read(0.6, 1), Read(0.6, 1)]), Throws.ArgumentException.With.Message.Contain("two reads at V=0.6,T=25 trial 1"));
        Assert.That(new FaultMap(g, [Read(0.6, 0), Read(0.6, 1), Read(0.55, null)]).Reads, Has.Count.EqualTo(3), "one read per point and trial");
    }

    [Test]
    public void ToleratesBlankLinesAndComments()
    {
        string path = _dir.File("commented.csv");
        File.WriteAllText(path, Header + "\n# a note\nV=0.5;T=25,,3,7,15,\n   \nV=0.5;T=25,,0,0,0,0\n");
        var map = FaultMap.Load(path);
        Assert.That(map.Reads, Has.Count.EqualTo(1));
        Assert.That(map.Reads[0].Faults, Is.EqualTo(new RecordedFault[] { new(3, 7, 15, null), new(0, 0, 0, false) }));
        Assert.That(map.Reads[0].Trial, Is.Null);
    }
}
