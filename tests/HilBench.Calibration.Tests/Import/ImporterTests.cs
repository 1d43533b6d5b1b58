using System.Globalization;
using System.Text;
using HilBench.Calibration.Import;
using HilBench.Calibration.Measured;
using HilBench.Calibration.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;

namespace HilBench.Calibration.Tests.Import;

public class ImporterTests
{
    // 4 blocks of 8 words of 16 bits: 512 cells, 64 bytes.
    private static readonly MemoryGeometry Small = MemoryGeometry.Parse("4x8x16");
    private static readonly OperatingPoint At055 = new(0.55);

    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>0xFFFF written; cells 5 (block 0, row 0, bit 5) and 300 (block 2, row 2, bit 12) read 0.</summary>
    private static byte[] ReadbackWithTwoFaults()
    {
        var image = Enumerable.Repeat((byte)0xFF, 64).ToArray();
        image[0] &= unchecked((byte)~(1 << 5));
        image[300 / 8] &= unchecked((byte)~(1 << (300 % 8)));
        return image;
    }

    private static void AssertTwoFaults(MeasuredRead read)
    {
        Assert.That(read.Faults, Is.EqualTo(new[]
        {
            new MeasuredFault(0, 0, 5, false, true),
            new MeasuredFault(2, 2, 12, false, true),
        }));
    }

    [Test]
    public void BinaryDumpGivesTheBitsThatDifferFromThePattern()
    {
        string path = _dir.File("v055.bin");
        File.WriteAllBytes(path, ReadbackWithTwoFaults());
        AssertTwoFaults(DumpImporter.Read(path, DumpFormat.Binary, Small, WrittenPattern.Parse("0xFFFF"), At055));
    }

    [Test]
    public void HexDumpIgnoresWhitespaceAndLineBreaks()
    {
        string hex = Convert.ToHexString(ReadbackWithTwoFaults());
        var text = new StringBuilder();
        for (int i = 0; i < hex.Length; i += 6) text.Append(hex, i, Math.Min(6, hex.Length - i)).Append(i % 24 == 0 ? "\r\n" : "  \t");
        string path = _dir.File("v055.hex");
        File.WriteAllText(path, text.ToString().ToLowerInvariant());
        AssertTwoFaults(DumpImporter.Read(path, DumpFormat.Hex, Small, WrittenPattern.Parse("0xffff"), At055));
    }

    [Test]
    public void HexWordsAreMostSignificantDigitFirstOnePerWord()
    {
        var image = ReadbackWithTwoFaults();
        var lines = Enumerable.Range(0, 32).Select(i => BitConverter.ToUInt16(image, 2 * i).ToString("X", CultureInfo.InvariantCulture));
        string path = _dir.File("v055.mem");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        Assert.That(File.ReadAllLines(path)[0], Is.EqualTo("FFDF"), "word 0 misses bit 5");
        AssertTwoFaults(DumpImporter.Read(path, DumpFormat.HexWords, Small, WrittenPattern.Parse("0xFFFF"), At055));
    }

    [Test]
    public void CheckerboardAlternatesAlongRowsAndFlipsPhaseEveryRow()
    {
        var image = new Checkerboard(inverse: false).Image(Small);
        Assert.That(image[..2], Is.EqualTo(new byte[] { 0x55, 0x55 }), "row 0: cell 0 stores 1, LSB first");
        Assert.That(image[2..4], Is.EqualTo(new byte[] { 0xAA, 0xAA }), "row 1: phase flipped");
        Assert.That(image[16..18], Is.EqualTo(new byte[] { 0x55, 0x55 }), "block 1 starts again with row 0");
        Assert.That(new Checkerboard(inverse: true).Image(Small)[0], Is.EqualTo(0xAA));
        var odd = MemoryGeometry.Parse("2x3x5");
        var generic = new Checkerboard(false);
        for (long c = 0; c < odd.TotalBits; c++)
        {
            var a = odd.Address(c);
            Assert.That(generic.StoredAt(odd, c), Is.EqualTo((a.Row + a.Bit) % 2 == 0));
            Assert.That(PatternBit(generic.Image(odd), c), Is.EqualTo((a.Row + a.Bit) % 2 == 0));
        }
    }

    [Test]
    public void ConstantWordTakesItsWidthFromTheHexDigits()
    {
        var p = (ConstantWord)WrittenPattern.Parse("0x1");
        Assert.That(p.Width, Is.EqualTo(4));
        var image = p.Image(Small);
        Assert.That(image.All(b => b == 0x11), Is.True, "cells 4k store 1");
        var wide = (ConstantWord)WrittenPattern.Parse("0x0000FFFF");
        Assert.That(wide.Width, Is.EqualTo(32));
        Assert.That(wide.Image(Small)[..4], Is.EqualTo(new byte[] { 0xFF, 0xFF, 0, 0 }), "little-endian words");
    }

    [Test]
    public void PatternFileIsComparedBitForBit()
    {
        var written = Enumerable.Range(0, 64).Select(i => (byte)(i * 37)).ToArray();
        var readback = (byte[])written.Clone();
        readback[10] ^= 0x80;
        File.WriteAllBytes(_dir.File("pattern.bin"), written);
        File.WriteAllBytes(_dir.File("dump.bin"), readback);
        var read = DumpImporter.Read(_dir.File("dump.bin"), DumpFormat.Binary, Small, WrittenPattern.Parse(_dir.File("pattern.bin")), At055);
        long cell = 10 * 8 + 7;
        var a = Small.Address(cell);
        Assert.That(read.Faults, Is.EqualTo(new[] { new MeasuredFault(a.Block, a.Row, a.Bit, (readback[10] & 0x80) != 0, (written[10] & 0x80) != 0) }));
    }

    [Test]
    public void RefusesDumpLengthThatDoesNotMatchTheGeometry()
    {
        string path = _dir.File("short.bin");
        File.WriteAllBytes(path, new byte[63]);
        var e = Assert.Throws<CalibrationInputException>(() => DumpImporter.Read(path, DumpFormat.Binary, Small, WrittenPattern.Parse("0xFFFF"), At055));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain(path).And.Contain("dump length").And.Contain("63 bytes").And.Contain("needs 64 bytes"));

        string hex = _dir.File("long.hex");
        File.WriteAllText(hex, new string('f', 130));
        e = Assert.Throws<CalibrationInputException>(() => DumpImporter.Read(hex, DumpFormat.Hex, Small, WrittenPattern.Parse("0xFFFF"), At055));
        Assert.That(e!.Message, Does.Contain(hex).And.Contain("dump length").And.Contain("65 bytes"));
    }

    [Test]
    public void RefusesNonHexCharactersWithLineAndColumn()
    {
        string path = _dir.File("bad.hex");
        File.WriteAllText(path, new string('f', 64) + "\nffff ffxf\n" + new string('f', 56));
        var e = Assert.Throws<CalibrationInputException>(() => DumpImporter.Read(path, DumpFormat.Hex, Small, WrittenPattern.Parse("0xFFFF"), At055));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain(path).And.Contain("line 2, column 8").And.Contain("non-hex character 'x'"));

        File.WriteAllText(path, "FFFF\nFF@F\n");
        e = Assert.Throws<CalibrationInputException>(() => DumpImporter.Read(path, DumpFormat.HexWords, Small, WrittenPattern.Parse("0xFFFF"), At055));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("line 2, column 3").And.Contain("'@'"));
    }

    [Test]
    public void RefusesUnknownPatterns()
    {
        var e = Assert.Throws<CalibrationInputException>(() => WrittenPattern.Parse("stripes", _dir.Path, "run.json: entries[0].pattern"));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("run.json: entries[0].pattern").And.Contain("unknown pattern 'stripes'").And.Contain("checkerboard"));
        Assert.That(() => WrittenPattern.Parse("0xFFFG"), Throws.TypeOf<CalibrationInputException>().With.Message.Contain("unknown pattern '0xFFFG'"));
    }

    [Test]
    public void RefusesPatternFileOfAnotherLength()
    {
        File.WriteAllBytes(_dir.File("pattern.bin"), new byte[32]);
        File.WriteAllBytes(_dir.File("dump.bin"), new byte[64]);
        var pattern = WrittenPattern.Parse(_dir.File("pattern.bin"));
        var e = Assert.Throws<CalibrationInputException>(() => DumpImporter.Read(_dir.File("dump.bin"), DumpFormat.Binary, Small, pattern, At055));
        Assert.That(e!.Message, Does.Contain("pattern.bin").And.Contain("32 bytes").And.Contain("needs 64"));
    }

    [Test]
    public void RefusesDuplicateOperatingPoints()
    {
        File.WriteAllBytes(_dir.File("a.bin"), ReadbackWithTwoFaults());
        File.WriteAllBytes(_dir.File("b.bin"), ReadbackWithTwoFaults());
        var maps = new MeasuredMaps(Small);
        var pattern = WrittenPattern.Parse("0xFFFF");
        maps.AddDump(_dir.File("a.bin"), DumpFormat.Binary, pattern, OperatingPoint.Parse("V=0.55"));
        var e = Assert.Throws<CalibrationInputException>(() => maps.AddDump(_dir.File("b.bin"), DumpFormat.Binary, pattern, OperatingPoint.Parse("V=550mV,T=25")));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("b.bin").And.Contain("duplicate operating point").And.Contain("V=0.55,T=25").And.Contain("a.bin"));
        // A second repeat, or another pattern, at the same point is a different read.
        maps.AddDump(_dir.File("b.bin"), DumpFormat.Binary, pattern, OperatingPoint.Parse("V=0.55"), repeat: 1);
        Assert.That(maps.Reads, Has.Count.EqualTo(2));
    }

    [Test]
    public void RefusesEmptyInput()
    {
        File.WriteAllBytes(_dir.File("empty.bin"), []);
        File.WriteAllText(_dir.File("blank.hex"), " \n\n ");
        File.WriteAllText(_dir.File("empty.csv"), "");
        var pattern = WrittenPattern.Parse("0xFFFF");
        Assert.That(() => DumpImporter.Read(_dir.File("empty.bin"), DumpFormat.Binary, Small, pattern, At055),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("empty.bin").And.Message.Contain("empty"));
        Assert.That(() => DumpImporter.Read(_dir.File("blank.hex"), DumpFormat.Hex, Small, pattern, At055),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("blank.hex").And.Message.Contain("empty input"));
        Assert.That(() => FaultListImporter.Read(_dir.File("empty.csv"), Small, At055),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("empty.csv").And.Message.Contain("empty"));
        Assert.That(() => MeasuredInputs.FromFiles([], DumpFormat.Binary, Small, "0xFFFF"),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("empty input"));
        Assert.That(() => HilBench.Calibration.Fit.Calibrator.Fit(new MeasuredMaps(Small)),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("no measured reads"));
    }

    [Test]
    public void FaultListReadsOptionalHeaderAndReadColumn()
    {
        string path = _dir.File("faults.csv");
        File.WriteAllText(path, "# board 3\nblock,row,bit,read\n0,0,5,0\n2,2,12,\n");
        AssertTwoFaults(FaultListImporter.Read(path, Small, At055, pattern: WrittenPattern.Parse("0xFFFF")));
        File.WriteAllText(path, "0,0,5\n2,2,12\n");
        var read = FaultListImporter.Read(path, Small, At055);
        Assert.That(read.Faults.Select(f => (f.Block, f.Row, f.Bit, f.Read, f.Stored)), Is.EqualTo(new (int, int, int, bool?, bool?)[] { (0, 0, 5, null, null), (2, 2, 12, null, null) }));
    }

    [Test]
    public void RefusesFaultListRowsOutsideTheGeometry()
    {
        string path = _dir.File("faults.csv");
        File.WriteAllText(path, "block,row,bit\n0,0,5\n1,8,3\n");
        var e = Assert.Throws<CalibrationInputException>(() => FaultListImporter.Read(path, Small, At055));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain(path + ", line 3").And.Contain("row 8 is out of the geometry 4x8x16"));
        File.WriteAllText(path, "0,0,5,0\n");
        e = Assert.Throws<CalibrationInputException>(() => FaultListImporter.Read(path, Small, At055, pattern: WrittenPattern.Parse("0x0000")));
        Assert.That(e!.Message, Does.Contain("line 1").And.Contain("wrong bits only"));
    }

    [Test]
    public void FaultMapReadsEveryRecordedRead()
    {
        var map = new FaultMap(Small,
        [
            new RecordedRead(OperatingPoint.Parse("V=0.55"), null, [new RecordedFault(0, 0, 5, false), new RecordedFault(2, 2, 12, null)]),
            new RecordedRead(OperatingPoint.Parse("V=0.6"), null, []),
        ]);
        map.Save(_dir.File("map.csv"));
        var maps = new MeasuredMaps(Small).AddFaultMap(_dir.File("map.csv"), WrittenPattern.Parse("0xFFFF"));
        Assert.That(maps.Reads, Has.Count.EqualTo(2));
        AssertTwoFaults(maps.Reads[0]);
        Assert.That(maps.Reads[1].Faults, Is.Empty);
        Assert.That(maps.Inputs.Single().Sha256, Has.Length.EqualTo(64));
        Assert.That(() => new MeasuredMaps(MemoryGeometry.Parse("4x8x32")).AddFaultMap(_dir.File("map.csv")),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("geometry"));
    }

    [Test]
    public void RefusesACellListedTwiceInARead()
    {
        var maps = new MeasuredMaps(Small);
        maps.Add(new MeasuredRead(new OperatingPoint(0.6), 0, [new MeasuredFault(0, 0, 5, false, true)], null, "first.csv"));
        var twice = new MeasuredRead(At055, 0, [new MeasuredFault(0, 0, 5, false, true), new MeasuredFault(1, 3, 2, false, true), new MeasuredFault(0, 0, 5, true, false)], null, "board read 3");
        var e = Assert.Throws<CalibrationInputException>(() => maps.Add(twice));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.StartWith("board read 3: block 0, row 0, bit 5 is listed twice in the read at V=0.55,T=25 repeat 0").And.Contain("remove the repeated entry"));
        Assert.That(maps.Reads, Has.Count.EqualTo(1), "the refused read adds nothing; the earlier one stays");

        string path = _dir.File("map.csv");
        File.WriteAllText(path, $"{FaultMap.Magic}\n# geometry {Small}\nop,trial,block,row,bit,read\nV=0.55,,0,0,5,0\nV=0.55,,0,0,5,0\n");
        Assert.That(() => new MeasuredMaps(Small).AddFaultMap(path),
            Throws.TypeOf<CalibrationInputException>().With.Message.StartWith(path).And.Message.Contain("block 0, row 0, bit 5 is listed twice"));
    }

    [Test]
    public void ManifestNamesFilesRelativeToItself()
    {
        Directory.CreateDirectory(_dir.File("dumps"));
        File.WriteAllBytes(_dir.File("dumps/v055.bin"), ReadbackWithTwoFaults());
        File.WriteAllBytes(_dir.File("dumps/v055-zero.bin"), new byte[64]);
        File.WriteAllText(_dir.File("run.json"), """
            {
              "geometry": "4x8x16",
              "format": "bin",
              "pattern": "0xFFFF",
              "chip": "test board",
              "entries": [
                { "path": "dumps/v055.bin", "op": "V=0.55" },
                { "path": "dumps/v055-zero.bin", "op": "V=0.55", "pattern": "0x0000" },
              ]
            }
            """);
        var maps = MeasuredInputs.FromManifest(_dir.File("run.json"));
        Assert.That(maps.Geometry, Is.EqualTo(Small));
        Assert.That(maps.Description, Is.EqualTo("test board"));
        Assert.That(maps.Reads.Select(r => r.Pattern!.Name), Is.EqualTo(new[] { "0xFFFF", "0x0000" }));
        AssertTwoFaults(maps.Reads[0]);
        Assert.That(maps.Inputs.Select(i => i.Role), Is.EquivalentTo(new[] { "dump", "dump", "manifest" }));

        File.WriteAllText(_dir.File("bad.json"), """{ "geometry": "4x8x16", "format": "tiff", "entries": [] }""");
        Assert.That(() => MeasuredInputs.FromManifest(_dir.File("bad.json")),
            Throws.TypeOf<CalibrationInputException>().With.Message.Contain("bad.json").And.Message.Contain("unknown format 'tiff'"));
    }

    [Test]
    public void HoldoutListParsesVolts()
    {
        Assert.That(MeasuredInputs.ParseVoltages("0.50,0.51"), Is.EqualTo(new[] { 0.50, 0.51 }));
        Assert.That(MeasuredInputs.ParseVoltages("500mV, 0.51V")[0], Is.EqualTo(0.5).Within(1e-12));
        Assert.That(() => MeasuredInputs.ParseVoltages("0.5,low"), Throws.TypeOf<CalibrationInputException>().With.Message.Contain("'low'"));
    }

    private static bool PatternBit(byte[] image, long cell) => (image[cell >> 3] >> (int)(cell & 7) & 1) != 0;
}
