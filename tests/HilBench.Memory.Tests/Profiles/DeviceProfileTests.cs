using System.Globalization;
using System.Text.Json.Nodes;
using HilBench.Memory.Geometry;
using HilBench.Memory.Profiles;
using HilBench.Memory.Tests.Support;

namespace HilBench.Memory.Tests.Profiles;

[TestFixture]
public class DeviceProfileTests
{
    [Test]
    public void ShippedBramProfileLoads()
    {
        var p = Repo.BramLike();
        Assert.That(p.Name, Is.EqualTo("bram-like"));
        Assert.That(p.Technology, Is.EqualTo(Technology.Sram));
        Assert.That(p.Geometry, Is.EqualTo(new MemoryGeometry(2048, 1024, 32, 32)));
        Assert.That(p.Nominal, Is.EqualTo(new OperatingPoint(1.0, null, 25)));
        Assert.That(p.VoltageRange, Is.EqualTo(new ValueRange(0.54, 1.0)));
        Assert.That(p.TRcdRange, Is.Null);
        Assert.That(p.Cells, Is.EqualTo(new CellParameters(0.41, 0.035, -0.0002, 0)));
        Assert.That(p.BlockOffsets, Is.EqualTo(new BlockOffsets(BlockOffsetDistribution.Normal, Sigma: 0.008)));
        Assert.That(p.WeakBitlines, Is.EqualTo(new WeakLines(0.002, 0.03)));
        Assert.That(p.WeakWordlines, Is.EqualTo(new WeakLines(0.001, 0.02)));
        Assert.That(p.Polarity, Is.EqualTo(new Polarity(FailureMode.Stuck, 0.9)));
        Assert.That(p.Transient, Is.EqualTo(TransientPart.None));
        Assert.That(p.Energy, Is.Not.Null);
        Assert.That(p.Provenance.Source, Does.Contain("Salami"));
        Assert.That(p.Provenance.Method, Does.Contain("The energy model is illustrative, not from a source"), "the energy figures have no source, and the profile says so");
        Assert.That(p.Origin, Is.EqualTo(Repo.BramLikePath));
        Assert.That(p.WorstPoint(), Is.EqualTo(new OperatingPoint(0.54, null, 0)), "a negative temperature coefficient makes the cold end the worst");
    }

    [Test]
    public void ShippedDramProfileLoads()
    {
        var p = Repo.Ddr4Like();
        Assert.That(p.Name, Is.EqualTo("ddr4-like"));
        Assert.That(p.Technology, Is.EqualTo(Technology.Dram));
        Assert.That(p.Geometry, Is.EqualTo(new MemoryGeometry(32, 512, 1024, 64)));
        Assert.That(p.Nominal, Is.EqualTo(new OperatingPoint(1.2, 13.5, 25)));
        Assert.That(p.TRcdRange, Is.Not.Null);
        Assert.That(p.TRcdRange!.Contains(13.5) && p.TRcdRange.Min < 13.5, Is.True, "tRCD can be cut below nominal");
        Assert.That(p.Cells, Is.EqualTo(new CellParameters(6.6, 0.6, 0.0015, 1.5)));
        Assert.That(p.BlockOffsets, Is.EqualTo(new BlockOffsets(BlockOffsetDistribution.TwoClass, WeakShare: 0.1, WeakOffset: 0.5)));
        Assert.That(p.Polarity, Is.EqualTo(new Polarity(FailureMode.Stuck, 0.5, 256)));
        Assert.That(p.Transient, Is.EqualTo(new TransientPart(0.3, 0.5)));
        Assert.That(p.Energy, Is.Not.Null);
        Assert.That(p.Provenance.Method, Does.Contain("The energy model is illustrative, not from a source"));
        Assert.That(p.WorstPoint(), Is.EqualTo(new OperatingPoint(p.VoltageRange.Min, p.TRcdRange.Min, p.TemperatureRange.Max)),
            "the worst corner: lowest voltage and tRCD, hottest (a positive coefficient stretches the critical tRCD)");
    }

    private static IEnumerable<TestCaseData> BrokenProfiles()
    {
        TestCaseData Case(string name, Func<ProfileJson, ProfileJson> breakIt, params string[] message) =>
            new TestCaseData(breakIt, message).SetArgDisplayNames(name);
        yield return Case("missing cells.sigma", j => j.Remove("cells.sigma"), "field 'cells.sigma'", "is missing");
        yield return Case("negative sigma", j => j.Set("cells.sigma", -0.01), "field 'cells.sigma'", "must be > 0, got -0.01");
        yield return Case("sigma not a number", j => j.Set("cells.sigma", "wide"), "field 'cells.sigma'", "must be a number");
        yield return Case("unknown technology", j => j.Set("technology", "flash"), "field 'technology'", "\"sram\" or \"dram\"", "\"flash\"");
        yield return Case("word width", j => j.Set("geometry.wordBits", 24), "field 'geometry.wordBits'", "(24) must divide geometry.bitsPerRow (64)");
        yield return Case("nominal outside range", j => j.Set("nominal.voltage", 1.2), "field 'nominal.voltage'", "must lie in range.voltage [0.52, 1]");
        yield return Case("wrong schema", j => j.Set("schema", "hilbench-device-profile/2"), "field 'schema'", "hilbench-device-profile/1");
        yield return Case("missing schema", j => j.Remove("schema"), "field 'schema'", "is missing");
        yield return Case("reversed range", j => j.Set("range.voltage", new JsonArray(1.0, 0.5)), "field 'range.voltage'", "min <= max");
        yield return Case("range not a pair", j => j.Set("range.voltage", new JsonArray(0.5)), "field 'range.voltage'", "must be [min, max]");
        yield return Case("unknown polarity", j => j.Set("polarity.mode", "random"), "field 'polarity.mode'", "\"stuck\" or \"flip\"");
        yield return Case("unknown offsets", j => j.Set("blockOffsets", new JsonObject { ["distribution"] = "uniform" }), "field 'blockOffsets.distribution'");
        yield return Case("share above 1", j => j.Set("transient", new JsonObject { ["share"] = 1.5, ["readFailureProbability"] = 0.5 }), "field 'transient.share'", "between 0 and 1");
        yield return Case("tRCD on SRAM", j => j.Set("nominal.tRCD", 10), "field 'nominal.tRCD'", "only for DRAM");
        yield return Case("fractional blocks", j => j.Set("geometry.blocks", 2.5), "field 'geometry.blocks'", "whole number");
        yield return Case("missing provenance", j => j.Remove("provenance"), "field 'provenance.source'", "is missing");
        // 8192 x 256 x 64 cells with most of them failing at 0.3 V: far beyond the 16 million weak cells the emulator holds.
        yield return Case("too many weak cells", j => j.Set("geometry.blocks", 8192).Set("range.voltage", new JsonArray(0.3, 1.0)), "field 'range'",
            "raise the low end of range.voltage", "another range gives other chips");
        yield return Case("anti cells on SRAM", j => j.Set("polarity", new JsonObject { ["mode"] = "stuck", ["antiCellRowGroup"] = 8 }),
            "field 'polarity.antiCellRowGroup'", "only for DRAM");
    }

    [TestCaseSource(nameof(BrokenProfiles))]
    public void RefusesABrokenProfileNamingTheField(Func<ProfileJson, ProfileJson> breakIt, string[] message)
    {
        string json = breakIt(ProfileJson.Sram()).Json;
        var e = Assert.Throws<ProfileException>(() => DeviceProfile.Parse(json, "bad.json"));
        Assert.That(e!.Message, Does.StartWith("bad.json: field '"), "the message names the file and the field");
        foreach (var m in message) Assert.That(e.Message, Does.Contain(m));
    }

    [TestCase("{ \"schema\": ", "bad.json is not valid JSON")]
    [TestCase("not json at all", "bad.json is not valid JSON")]
    [TestCase("[1, 2]", "a device profile is a JSON object")]
    public void RefusesTextThatIsNotAProfileObject(string text, string message)
    {
        Assert.That(() => DeviceProfile.Parse(text, "bad.json"), Throws.TypeOf<ProfileException>().With.Message.Contains(message));
    }

    [Test]
    public void RefusesDramFieldsMissingOrMisplaced()
    {
        Assert.That(() => ProfileJson.Dram().Remove("range.tRCD").Parse("d.json"), Throws.TypeOf<ProfileException>().With.Message.Contains("field 'range.tRCD' is missing"));
        Assert.That(() => ProfileJson.Dram().Remove("nominal.tRCD").Parse("d.json"), Throws.TypeOf<ProfileException>().With.Message.Contains("field 'nominal.tRCD' is missing"));
        Assert.That(() => ProfileJson.Dram().Set("nominal.tRCD", 15.0).Parse("d.json"), Throws.TypeOf<ProfileException>().With.Message.Contains("field 'nominal.tRCD' (15) must lie in range.tRCD"));
        Assert.That(() => ProfileJson.Sram().Set("cells.voltageSensitivity", 1.0).Parse("s.json"), Throws.TypeOf<ProfileException>().With.Message.Contains("field 'cells.voltageSensitivity' is only for DRAM"));
        Assert.That(() => ProfileJson.Dram().Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.9, ["antiCellRowGroup"] = 16 }).Parse("d.json"),
            Throws.TypeOf<ProfileException>().With.Message.Contains("field 'polarity.stuckAtZeroShare' cannot be used with polarity.antiCellRowGroup").And.Message.Contains("remove one of them"));
        Assert.That(ProfileJson.Dram().Set("polarity", new JsonObject { ["mode"] = "stuck", ["antiCellRowGroup"] = 16 }).Parse("d.json").Polarity,
            Is.EqualTo(new Polarity(FailureMode.Stuck, 0.5, 16)));
    }

    [Test]
    public void MessagesWriteNumbersAsJsonDoesWhateverTheCulture()
    {
        var culture = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a decimal comma (built by hand: the tests may run in globalization-invariant mode).
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = comma.NumberFormat.PercentDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            Assert.That(0.5.ToString(), Is.EqualTo("0,5"), "the culture is in force");
            Assert.That(() => ProfileJson.Sram().Set("range.voltage", new JsonArray(1.0, 0.5)).Parse("bad.json"),
                Throws.TypeOf<ProfileException>().With.Message.Contains("got [1, 0.5]"));
            Assert.That(() => ProfileJson.Sram().Set("nominal.voltage", 1.5).Parse("bad.json"),
                Throws.TypeOf<ProfileException>().With.Message.Contains("(1.5) must lie in range.voltage [0.52, 1]"));
            Assert.That(() => ProfileJson.Sram().Set("geometry.blocks", 8192).Set("range.voltage", new JsonArray(0.3, 1.0)).Parse("bad.json"),
                Throws.TypeOf<ProfileException>().With.Message.Contains("lets 97.72 % of the cells fail").And.Message.Contains("(1.31E+08 cells)").And.Message.Contains("16 million weak cells"));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Test]
    public void LoadRefusesAMissingFile()
    {
        Assert.That(() => DeviceProfile.Load(Repo.File("calibration", "profiles", "no-such.json")), Throws.TypeOf<ProfileException>()
            .With.Message.Contains("does not exist").And.Message.Contains("calibration/profiles/"));
    }

    [Test]
    public void CheckRefusesPointsOutsideTheRanges()
    {
        var bram = Repo.BramLike();
        Assert.That(() => bram.Check(new OperatingPoint(0.5)), Throws.TypeOf<OperatingPointException>()
            .With.Message.Contains("V=0.5 is outside bram-like's voltage range [0.54, 1] V").And.Message.Contains("field range.voltage")
            .And.Message.Contains("may crash"));
        Assert.That(() => bram.Check(new OperatingPoint(1.05)), Throws.TypeOf<OperatingPointException>()
            .With.Message.Contains("range.voltage").And.Message.Contains("overdriven"));
        Assert.That(() => bram.Check(new OperatingPoint(0.6, 10)), Throws.TypeOf<OperatingPointException>()
            .With.Message.Contains("SRAM profile and has no tRCD"));
        Assert.That(() => bram.Check(new OperatingPoint(0.6, null, 100)), Throws.TypeOf<OperatingPointException>()
            .With.Message.Contains("T=100 C is outside").And.Message.Contains("range.temperature"));
        Assert.That(bram.Check(new OperatingPoint(0.54, null, 85)), Is.EqualTo(new OperatingPoint(0.54, null, 85)), "the ends of a range are inside");

        var ddr = Repo.Ddr4Like();
        Assert.That(() => ddr.Check(new OperatingPoint(1.2, 8)), Throws.TypeOf<OperatingPointException>()
            .With.Message.Contains("tRCD=8 ns is outside").And.Message.Contains("range.tRCD"));
        Assert.That(() => ddr.Check(new OperatingPoint(1.0, 10)), Throws.TypeOf<OperatingPointException>().With.Message.Contains("range.voltage"));
        Assert.That(ddr.Check(new OperatingPoint(1.15)), Is.EqualTo(new OperatingPoint(1.15, 13.5, 25)), "a DRAM point without tRCD runs at the nominal tRCD");
        Assert.That(ddr.ParsePoint("V=1.15,tRCD=10"), Is.EqualTo(new OperatingPoint(1.15, 10, 25)));
        Assert.That(() => ddr.ParsePoint("tRCD=5"), Throws.TypeOf<OperatingPointException>().With.Message.Contains("range.tRCD"));
    }

    private static IEnumerable<TestCaseData> RoundTripProfiles()
    {
        yield return new TestCaseData((Func<DeviceProfile>)Repo.BramLike).SetArgDisplayNames("bram-like");
        yield return new TestCaseData((Func<DeviceProfile>)Repo.Ddr4Like).SetArgDisplayNames("ddr4-like");
        yield return new TestCaseData((Func<DeviceProfile>)(() => ProfileJson.Sram().Parse())).SetArgDisplayNames("minimal sram");
        yield return new TestCaseData((Func<DeviceProfile>)(() => ProfileJson.Dram()
            .Set("polarity", new JsonObject { ["mode"] = "stuck", ["stuckAtZeroShare"] = 0.25 })
            .Set("transient", new JsonObject { ["share"] = 0.2, ["readFailureProbability"] = 0.125 })
            .Set("blockOffsets", new JsonObject { ["distribution"] = "normal", ["sigma"] = 0.1 })
            .Set("chipSeed", -7).Set("description", "with every option").Parse())).SetArgDisplayNames("full dram");
    }

    [TestCaseSource(nameof(RoundTripProfiles))]
    public void ToJsonParsesBackToAnEqualProfile(Func<DeviceProfile> make)
    {
        var p = make();
        var back = DeviceProfile.Parse(p.ToJson(), p.Origin);
        Assert.That(back.Name, Is.EqualTo(p.Name));
        Assert.That(back.Technology, Is.EqualTo(p.Technology));
        Assert.That(back.Description, Is.EqualTo(p.Description));
        Assert.That(back.Provenance, Is.EqualTo(p.Provenance));
        Assert.That(back.Geometry, Is.EqualTo(p.Geometry));
        Assert.That(back.Nominal, Is.EqualTo(p.Nominal));
        Assert.That(back.VoltageRange, Is.EqualTo(p.VoltageRange));
        Assert.That(back.TRcdRange, Is.EqualTo(p.TRcdRange));
        Assert.That(back.TemperatureRange, Is.EqualTo(p.TemperatureRange));
        Assert.That(back.Cells, Is.EqualTo(p.Cells));
        Assert.That(back.BlockOffsets, Is.EqualTo(p.BlockOffsets));
        Assert.That(back.WeakBitlines, Is.EqualTo(p.WeakBitlines));
        Assert.That(back.WeakWordlines, Is.EqualTo(p.WeakWordlines));
        Assert.That(back.Polarity, Is.EqualTo(p.Polarity));
        Assert.That(back.Transient, Is.EqualTo(p.Transient));
        Assert.That(back.Energy, Is.EqualTo(p.Energy));
        Assert.That(back.ChipSeed, Is.EqualTo(p.ChipSeed));
        Assert.That(back, Is.EqualTo(p), "record equality over every field");
        Assert.That(back.ToJson(), Is.EqualTo(p.ToJson()));
    }
}
