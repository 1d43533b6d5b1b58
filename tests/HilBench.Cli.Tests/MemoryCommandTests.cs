using System.Globalization;
using HilBench.Cli.Commands;

namespace HilBench.Cli.Tests;

/// <summary>eval --profile/--op, inject, sweep and profile predict: the memory layer from the command line.</summary>
[TestFixture]
public sealed class MemoryCommandTests
{
    private TempDirectory _dir = null!;
    private string _model = "";
    private string _bram = "";
    private string _ddr4 = "";

    [OneTimeSetUp]
    public void CreateModel()
    {
        _dir = new TempDirectory();
        _model = _dir.File("small.hbnn");
        Cli.Ok("random", "--arch", "dense256,dense10", "--seed", "3", "--out", _model);
        string root = Repository.Root;
        _bram = Path.Combine(root, "calibration", "profiles", "bram-like.json");
        _ddr4 = Path.Combine(root, "calibration", "profiles", "ddr4-like.json");
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();


    [Test]
    public void EvalWithProfile_ReportsMeanIntervalBerAndEnergy()
    {
        var json = Cli.Ok("eval", "--model", _model, "--profile", _bram, "--op", "V=0.54", "--trials", "3", "--json").Json();
        Assert.That(json.GetProperty("operating_point").GetString(), Is.EqualTo("V=0.54,T=25"));
        Assert.That(json.GetProperty("accuracy_trials").GetArrayLength(), Is.EqualTo(3));
        Assert.That(json.GetProperty("accuracy_ci95").GetArrayLength(), Is.EqualTo(2));
        // About 1.5e-4 of the cells fail at 0.54 V; on 203k bits that is tens of faults, not zero and not thousands.
        Assert.That(json.GetProperty("flipped_bits_mean").GetDouble(), Is.InRange(1.0, 200.0));
        Assert.That(json.GetProperty("energy_saving").GetDouble(), Is.InRange(0.5, 0.95));
        Assert.That(json.GetProperty("errors").GetString(), Does.Contain("bram-like"));
    }

    [Test]
    public void EvalAtNominal_HasNoFaults()
    {
        var json = Cli.Ok("eval", "--model", _model, "--profile", _bram, "--trials", "2", "--json").Json();
        Assert.That(json.GetProperty("flipped_bits_mean").GetDouble(), Is.Zero);
        Assert.That(json.GetProperty("accuracy_mean").GetDouble(), Is.EqualTo(json.GetProperty("accuracy").GetDouble()));
        Assert.That(json.GetProperty("energy_saving").GetDouble(), Is.EqualTo(0).Within(1e-12));
    }

    [Test]
    public void VoltageOutsideTheProfile_IsRefusedNamingTheRange()
    {
        var run = Cli.Run("eval", "--model", _model, "--profile", _bram, "--op", "V=0.4");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("range.voltage").And.Contain("0.54"));
    }

    [Test]
    public void BadProfile_IsRefusedNamingTheField()
    {
        string bad = _dir.File("bad.json");
        File.WriteAllText(bad, File.ReadAllText(_bram).Replace("\"sigma\": 0.035", "\"sigma\": -0.035"));
        var run = Cli.Run("eval", "--model", _model, "--profile", bad, "--op", "V=0.55");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("cells.sigma").And.Contain("must be > 0"));
    }

    [TestCase("--op", "V=0.55")]
    [TestCase("--chip", "3")]
    public void MemoryOptionsWithoutProfile_AreUsageErrors(string option, string value)
    {
        var run = Cli.Run("eval", "--model", _model, option, value);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain("needs --profile"));
    }

    [Test]
    public void BerAndProfileTogether_IsAUsageError()
    {
        var run = Cli.Run("eval", "--model", _model, "--ber", "0.01", "--profile", _bram);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain("not both"));
    }

    [Test]
    public void Inject_WritesOneRowPerFaultWithModelAndMemoryAddresses()
    {
        string csv = _dir.File("faults-dram.csv");
        var json = Cli.Ok("inject", "--model", _model, "--profile", _ddr4, "--op", "V=1.1,tRCD=9.5,T=55", "--faults", csv, "--json").Json();
        var lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo(InjectCommand.Header));
        int faults = json.GetProperty("faults").GetInt32();
        Assert.That(faults, Is.GreaterThan(100), "about 1% of 203k bits are wrong at the profile's worst corner");
        Assert.That(lines, Has.Length.EqualTo(faults + 1));
        Assert.That(json.GetProperty("per_region").EnumerateArray().Sum(r => r.GetProperty("faults").GetInt32()), Is.EqualTo(faults));
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            Assert.That(f, Has.Length.EqualTo(11));
            Assert.That(f[2], Is.EqualTo("weights"));
            Assert.That(f[9], Is.Not.EqualTo(f[10]), "a fault reads something other than what was stored");
            Assert.That(int.Parse(f[6], CultureInfo.InvariantCulture), Is.InRange(0, 31), "memory block of the 32-block ddr4-like slice");
        }
    }

    [Test]
    public void Inject_UniformBerHasNoMemoryAddressAndIsReproducible()
    {
        string a = _dir.File("uniform-a.csv"), b = _dir.File("uniform-b.csv");
        Cli.Ok("inject", "--model", _model, "--ber", "0.01", "--seed", "5", "--trial", "2", "--faults", a);
        Cli.Ok("inject", "--model", _model, "--ber", "0.01", "--seed", "5", "--trial", "2", "--faults", b);
        Assert.That(File.ReadAllText(a), Is.EqualTo(File.ReadAllText(b)));
        var row = File.ReadAllLines(a)[1].Split(',');
        Assert.That(row[5..9], Is.All.Empty);
    }

    [Test]
    public void FaultMapFromInject_ReplaysTheSameFaults()
    {
        string emulated = _dir.File("emulated.csv"), map = _dir.File("chip.map"), replayed = _dir.File("replayed.csv");
        Cli.Ok("inject", "--model", _model, "--profile", _ddr4, "--op", "V=1.1,tRCD=9.5,T=55", "--trial", "2", "--faults", emulated, "--fault-map", map);
        Assert.That(File.ReadLines(map).First(), Is.EqualTo("# hilbench fault map 1"));
        Cli.Ok("inject", "--model", _model, "--replay", map, "--faults", replayed);
        Assert.That(File.ReadAllLines(replayed), Is.EqualTo(File.ReadAllLines(emulated)), "same bits, cells, stored and read values");
        var json = Cli.Ok("eval", "--model", _model, "--replay", map, "--trials", "2", "--json").Json();
        Assert.That(json.GetProperty("flipped_bits_mean").GetDouble(), Is.EqualTo(File.ReadAllLines(emulated).Length - 1));
        var wrongPoint = Cli.Run("eval", "--model", _model, "--replay", map, "--op", "V=1.15,tRCD=9.5,T=55");
        Assert.That(wrongPoint.ExitCode, Is.EqualTo(1), wrongPoint.ToString);
        Assert.That(wrongPoint.Stderr, Does.Contain("no read at V=1.15"));
    }

    [Test]
    public void FaultMap_NeedsAGeometry()
    {
        var run = Cli.Run("inject", "--model", _model, "--ber", "0.01", "--faults", _dir.File("u.csv"), "--fault-map", _dir.File("u.map"));
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("needs a memory with a geometry"));
    }

    [Test]
    public void Inject_NeedsAnErrorModel()
    {
        var run = Cli.Run("inject", "--model", _model, "--faults", _dir.File("none.csv"));
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain("give the errors"));
    }

    [Test]
    public void Inject_ThresholdsInMemoryAddsThresholdRegions()
    {
        var json = Cli.Ok("inject", "--model", _model, "--ber", "0.2", "--thresholds-in-memory", "--faults", _dir.File("t.csv"), "--json").Json();
        var regions = json.GetProperty("per_region").EnumerateArray().Select(r => r.GetProperty("region").GetString()).ToArray();
        Assert.That(regions, Is.EqualTo(new[] { "block0.weights", "block1.weights", "block0.thresholds" }));
    }

    [Test]
    public void Sweep_WritesEveryVoltageAndFaultsGrowAsVoltageFalls()
    {
        string csv = _dir.File("sweep.csv");
        var json = Cli.Ok("sweep", "--model", _model, "--profile", _bram, "--voltages", "0.58:0.54:0.02", "--trials", "3", "--out", csv, "--json").Json();
        var points = json.GetProperty("points").EnumerateArray().ToArray();
        Assert.That(points.Select(p => p.GetProperty("voltage").GetDouble()), Is.EqualTo(new[] { 0.58, 0.56, 0.54 }));
        var faults = points.Select(p => p.GetProperty("faults_mean").GetDouble()).ToArray();
        // The same three chips at every voltage: faults are nested, so the counts cannot fall as V falls.
        Assert.That(faults, Is.Ordered);
        Assert.That(faults[^1], Is.GreaterThan(0));
        var savings = points.Select(p => p.GetProperty("energy_saving").GetDouble()).ToArray();
        Assert.That(savings, Is.Ordered.And.Unique);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(5), "the settings line, the header and three points");
        Assert.That(lines[0], Does.StartWith("# hilbench sweep: model=").And.Contain("memory=bram-like ").And.Contain("seed=1; chip=SEED+k; trials=3"));
    }

    [Test]
    public void Sweep_ResumeRefusesAnotherPopulationOfChips()
    {
        string csv = _dir.File("resume.csv");
        string[] args = ["sweep", "--model", _model, "--profile", _bram, "--voltages", "0.58,0.56", "--trials", "2", "--out", csv];
        Cli.Ok(args);
        string written = File.ReadAllText(csv);
        Assert.That(Cli.Ok([.. args, "--resume"]).Stderr, Does.Contain("kept 2 of 2 voltages"));

        foreach (var (option, value, difference) in new[] { ("--seed", "2", "seed 1 there, 2 now"), ("--chip", "7", "chip SEED+k there, 7 now"),
                     ("--placement", "interleaved", "placement contiguous there, interleaved now"), ("--thresholds-in-memory", null, "thresholds-in-memory no there, yes now") })
        {
            var run = Cli.Run([.. args, "--resume", option, .. value is null ? Array.Empty<string>() : [value]]);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
            Assert.That(run.Stderr, Does.Contain(difference).And.Contain("another --out"), option);
            Assert.That(File.ReadAllText(csv), Is.EqualTo(written), "the points already written are kept");
        }
        var otherProfile = Cli.Run(["sweep", "--model", _model, "--profile", _ddr4, "--voltages", "1.2", "--out", csv, "--resume", "--trials", "2"]);
        Assert.That(otherProfile.Stderr, Does.Contain("memory bram-like").And.Contain("ddr4-like"), otherProfile.ToString);

        // A CSV from before sweeps recorded their settings: read, refused with the reason.
        File.WriteAllLines(csv, File.ReadAllLines(csv).Skip(1));
        var old = Cli.Run([.. args, "--resume"]);
        Assert.That(old.ExitCode, Is.EqualTo(1), old.ToString);
        Assert.That(old.Stderr, Does.Contain("did not record its settings").And.Contain("another --out"));
    }

    [TestCase("0.60:0.54:0.02", new[] { 0.60, 0.58, 0.56, 0.54 })]
    [TestCase("0.54:0.58:0.02", new[] { 0.54, 0.56, 0.58 })]
    [TestCase("0.6,0.55", new[] { 0.6, 0.55 })]
    [TestCase("0.60:0.50:0.005", null)]
    public void ParseVoltages(string text, double[]? expected)
    {
        var v = SweepCommand.ParseVoltages(text);
        if (expected is null) Assert.That(v, Has.Length.EqualTo(21).And.Ordered.Descending);
        else Assert.That(v, Is.EqualTo(expected).Within(1e-12));
    }

    [TestCase("0.6:0.5", "START:STOP:STEP")]
    [TestCase("0.6:0.5:0", "must not be zero")]
    [TestCase("0.6:x:0.1", "not a number")]
    public void Sweep_BadVoltages(string text, string message)
    {
        var run = Cli.Run("sweep", "--model", _model, "--profile", _bram, "--voltages", text);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString);
        Assert.That(run.Stderr, Does.Contain(message));
    }

    [Test]
    public void Sweep_VoltageOutsideTheRangeFailsBeforeAnyWork()
    {
        string csv = _dir.File("never.csv");
        var run = Cli.Run("sweep", "--model", _model, "--profile", _bram, "--voltages", "0.56:0.50:0.02", "--out", csv);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("range.voltage"));
        Assert.That(File.Exists(csv), Is.False);
    }

    [Test]
    public void ProfilePredict_Json()
    {
        var json = Cli.Ok("profile", "predict", "--profile", _bram, "--op", "V=0.55", "--pattern", "0xFFFF", "--json").Json();
        double ber = json.GetProperty("ber").GetDouble(), failing = json.GetProperty("failing_cell_share").GetDouble();
        // 90% of failing cells are stuck at 0, so on all-ones data 90% of them are errors.
        Assert.That(ber, Is.EqualTo(0.9 * failing).Within(1e-12));
        Assert.That(failing, Is.InRange(1e-5, 1e-4));
        Assert.That(json.GetProperty("top10_block_share").GetDouble(), Is.InRange(0.1, 1.0));
    }

    [TestCase("0xFFFF", 1.0)]
    [TestCase("0x0000", 0.0)]
    [TestCase("AAAA", 0.5)]
    [TestCase("0x1", 0.25)]
    public void OnesShare(string hex, double expected) => Assert.That(ProfileCommand.OnesShare(hex), Is.EqualTo(expected));

    [Test]
    public void ProfilePredict_BadPattern()
    {
        var run = Cli.Run("profile", "predict", "--profile", _bram, "--pattern", "0xZZ");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString);
        Assert.That(run.Stderr, Does.Contain("hex word"));
    }
}
