using System.Globalization;
using System.Text.Json;
using HilBench.Board.Emulation;
using HilBench.Memory.Profiles;

namespace HilBench.Cli.Tests;

/// <summary>hilbench calibrate: from the shipped sample dumps, from a board (the firmware's emulated chip over a pty), and bad input.</summary>
[TestFixture]
public sealed class CalibrateCommandTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void MakeDirectory() => _dir = new TempDirectory();

    [OneTimeTearDown]
    public void RemoveDirectory() => _dir.Dispose();

    [Test]
    public void TheSampleManifestGivesARunnableProfileAndAReport()
    {
        string profile = _dir.File("samples.json"), report = _dir.File("samples-report");
        var json = Cli.Ok("calibrate", "--manifest", Repository.File("calibration", "samples", "manifest.json"), "--out", profile,
            "--report", report, "--holdout", "0.50,0.51", "--json").Json();
        var loaded = DeviceProfile.Load(profile);
        Assert.That(loaded.Geometry.ToString(), Is.EqualTo("64x128x32"));
        Assert.That(json.GetProperty("heldout_factor").GetDouble(), Is.LessThan(1.5));
        foreach (string file in new[] { "report.md", "fit.json", "ber.png", "ber.svg", "blocks.png", "blocks.svg" })
            Assert.That(new FileInfo(Path.Combine(report, file)).Length, Is.GreaterThan(500), file);
        var points = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "fit.json"))).RootElement.GetProperty("points").EnumerateArray().ToArray();
        Assert.That(points, Has.Length.EqualTo(7));
        Assert.That(points.Count(p => p.GetProperty("heldout").GetBoolean()), Is.EqualTo(2));
        foreach (var p in points)
            Assert.That(p.GetProperty("op").GetString()!.Length + p.GetProperty("measured_ber").GetDouble() + p.GetProperty("fitted_ber").GetDouble(), Is.GreaterThan(0));

        // The fitted profile runs in the emulator as it is.
        var predicted = Cli.Ok("profile", "predict", "--profile", profile, "--op", "V=0.52", "--json").Json();
        Assert.That(predicted.GetProperty("ber").GetDouble(), Is.GreaterThan(0));
    }

    [Test]
    public void DumpsOnTheCommandLineGiveTheSameFitAsTheManifest()
    {
        string samples = Repository.File("calibration", "samples");
        string[] mv = ["560", "550", "540", "530", "520", "510", "500"];
        var args = new List<string> { "calibrate", "--geometry", "64x128x32", "--pattern", "checkerboard", "--format", "bin", "--out", _dir.File("cli.json"), "--json" };
        foreach (string v in mv.Where(v => File.Exists(Path.Combine(samples, $"checkerboard-{v}mV.bin"))))
            args.AddRange(["--dump", Path.Combine(samples, $"checkerboard-{v}mV.bin"), "--op", $"V=0.{v[..2]}"]);
        var cli = Cli.Ok([.. args]).Json();
        Assert.That(cli.GetProperty("points").GetArrayLength(), Is.EqualTo(5), "five of the samples are binary");
    }

    [Test]
    public void BadInputIsRefusedNamingFileAndCause()
    {
        string samples = Repository.File("calibration", "samples");
        string dump = Path.Combine(samples, "checkerboard-550mV.bin");
        var wrongGeometry = Cli.Run("calibrate", "--dump", dump, "--op", "V=0.55", "--geometry", "64x256x32", "--pattern", "checkerboard", "--out", _dir.File("x.json"));
        Assert.That(wrongGeometry.ExitCode, Is.EqualTo(1), wrongGeometry.ToString);
        Assert.That(wrongGeometry.Stderr, Does.Contain("checkerboard-550mV.bin"));
        var pattern = Cli.Run("calibrate", "--dump", dump, "--op", "V=0.55", "--geometry", "64x128x32", "--pattern", "zebra", "--out", _dir.File("x.json"));
        Assert.That(pattern.ExitCode, Is.EqualTo(1), pattern.ToString);
        Assert.That(pattern.Stderr, Does.Contain("zebra"));
        var unpaired = Cli.Run("calibrate", "--dump", dump, "--dump", dump, "--op", "V=0.55", "--geometry", "64x128x32", "--out", _dir.File("x.json"));
        Assert.That(unpaired.ExitCode, Is.EqualTo(2), unpaired.ToString);
        Assert.That(unpaired.Stderr, Does.Contain("one --op per --dump"));
        var twice = Cli.Run("calibrate", "--dump", dump, "--op", "V=0.55", "--dump", dump, "--op", "V=0.55", "--geometry", "64x128x32", "--pattern", "checkerboard", "--out", _dir.File("x.json"));
        Assert.That(twice.ExitCode, Is.EqualTo(1), twice.ToString);
        Assert.That(twice.Stderr, Does.Contain("V=0.55"));
        Assert.That(File.Exists(_dir.File("x.json")), Is.False, "nothing is written from bad input");
    }

    [Test]
    public void CalibratingTheEmulatedBoardRecoversItsGroundTruth()
    {
        using var board = EmulatorProcess.Start(EmulatorProcess.Build(Repository.Root), seed: 1, truthFile: _dir.File("board-truth.txt"));
        var truth = ChipTruth.Load(board.TruthFile!).Header;
        double Truth(string key) => double.Parse(truth[key], CultureInfo.InvariantCulture);
        string report = _dir.File("board-report");
        var json = Cli.Ok("calibrate", "--board", "--port", board.Port, "--voltages", "0.60:0.50:0.01", "--out", _dir.File("board.json"),
            "--report", report, "--holdout", "0.50,0.51", "--json").Json();
        var p = json.GetProperty("parameters");
        double Fit(string name) => p.GetProperty(name).GetProperty("value").GetDouble();
        TestContext.Out.WriteLine(string.Join(", ", p.EnumerateObject().Select(x => $"{x.Name} {x.Value.GetProperty("value").GetDouble():G5}")));
        Assert.That(Fit("cells.mean"), Is.EqualTo(Truth("cells.mean")).Within(2).Percent);
        Assert.That(Fit("cells.sigma"), Is.EqualTo(Truth("cells.sigma")).Within(10).Percent);
        Assert.That(Fit("blockOffsets.sigma"), Is.EqualTo(Truth("block_offsets.sigma")).Within(15).Percent);
        Assert.That(Fit("polarity.stuckAtZeroShare"), Is.EqualTo(Truth("polarity.stuck_at_zero_share")).Within(0.02));
        Assert.That(json.GetProperty("heldout_factor").GetDouble(), Is.LessThan(1.5));
        var map = HilBench.Memory.Backends.FaultMap.Load(Path.Combine(report, "measured.txt"));
        Assert.That(map.Reads, Has.Count.EqualTo(11), "every read is kept as a fault map");
        Assert.That(map.Reads[^1].Faults.Count, Is.GreaterThan(1000), "the lowest voltage has at least 1,000 faults");
    }
}
