using System.Globalization;
using HilBench.Board.Emulation;

namespace HilBench.Cli.Tests;

/// <summary>
/// hilbench against the reference firmware's emulated board on a pseudo-terminal (System.IO.Ports included):
/// board info/compare, eval/inject/sweep/metrics/experiment with --backend board, and a board lost mid-sweep.
/// </summary>
[TestFixture]
public sealed class BoardCommandTests
{
    private const string Model = "models/fmnist-mlp-bft0.hbnn";
    private TempDirectory _dir = null!;
    private string _emulator = null!;
    private EmulatorProcess _board = null!;
    private ChipTruth _truth = null!;

    [OneTimeSetUp]
    public void StartBoard()
    {
        _dir = new TempDirectory();
        _emulator = EmulatorProcess.Build(Repository.Root);
        _board = EmulatorProcess.Start(_emulator, seed: 1, truthFile: _dir.File("truth.txt"));
        _truth = ChipTruth.Load(_board.TruthFile!);
    }

    [OneTimeTearDown]
    public void StopBoard()
    {
        _board.Dispose();
        _dir.Dispose();
    }

    private string Model_ => Repository.File(Model);

    [Test]
    public void InfoReportsTheBoardsHello()
    {
        var json = Cli.Ok("board", "info", "--port", _board.Port, "--json").Json();
        Assert.That(json.GetProperty("firmware").GetString(), Does.StartWith("hilboard-emu"));
        Assert.That(json.GetProperty("geometry").GetString(), Is.EqualTo("256x1024x32"));
        Assert.That(json.GetProperty("voltage_mv").GetProperty("floor").GetInt32(), Is.EqualTo(500));
    }

    [Test]
    public void TelemetryAndReadbackReportWhatTheBoardHolds()
    {
        var t = Cli.Ok("board", "telemetry", "--port", _board.Port, "--json").Json();
        Assert.That(t.GetProperty("voltage_set_mv").GetInt32(), Is.EqualTo(1000), "a board at rest is at nominal");
        Assert.That(Math.Abs(t.GetProperty("voltage_measured_mv").GetInt32() - 1000), Is.LessThanOrEqualTo(1));
        Assert.That(t.GetProperty("current_ua").GetInt64(), Is.GreaterThan(0));

        // Fill a known pattern, then read it back at nominal (exact) and at 0.50 V (the cells stuck at 0 show).
        Cli.Ok("board", "compare", "--port", _board.Port, "--pattern", "0xFFFFFFFF", "--op", "V=1");
        Cli.Ok("board", "readback", "--port", _board.Port, "--length", "65536", "--out", _dir.File("nominal.bin"));
        Assert.That(File.ReadAllBytes(_dir.File("nominal.bin")), Is.All.EqualTo((byte)0xFF));
        Cli.Ok("board", "readback", "--port", _board.Port, "--length", "65536", "--op", "V=0.5", "--format", "hex", "--out", _dir.File("low.hex"));
        var low = Convert.FromHexString(string.Concat(File.ReadAllLines(_dir.File("low.hex"))));
        long zeros = low.Sum(b => (long)System.Numerics.BitOperations.PopCount((uint)(byte)~b));
        Assert.That(zeros, Is.EqualTo(_truth.Cells.Count(c => c.Cell < 65536 * 8 && c.CriticalMicrovolts > 500_000 && !c.Stuck)));
        var after = Cli.Ok("board", "telemetry", "--port", _board.Port, "--json").Json();
        Assert.That(after.GetProperty("voltage_set_mv").GetInt32(), Is.EqualTo(1000), "readback returns to nominal");
    }

    [TestCase("0xFFFFFFFF", false)]
    [TestCase("0x00000000", true)]
    public void CompareFindsExactlyTheGroundTruthFaults(string pattern, bool visibleStuckValue)
    {
        var json = Cli.Ok("board", "compare", "--port", _board.Port, "--pattern", pattern, "--voltages", "0.60,0.55,0.50",
            "--fault-map", _dir.File("scan.txt"), "--json").Json();
        var points = json.GetProperty("points").EnumerateArray().ToArray();
        Assert.That(points, Has.Length.EqualTo(3));
        foreach (var (p, mv) in points.Zip(new[] { 600, 550, 500 }))
        {
            // A cell fails below its critical voltage and then reads its stuck value: only the cells stuck at the complement of the pattern show.
            int expected = _truth.Cells.Count(t => t.CriticalMicrovolts > mv * 1000L && t.Stuck == visibleStuckValue);
            Assert.That(p.GetProperty("faults").GetInt32(), Is.EqualTo(expected), $"{mv} mV");
        }
        Assert.That(points[2].GetProperty("faults").GetInt32(), Is.GreaterThan(1000), "the lowest voltage should show many faults");
        Assert.That(points[2].GetProperty("bytes_received").GetInt64(), Is.LessThan(points[2].GetProperty("faults").GetInt64() * 4),
            "COMPARE sends the differing bits compressed, not the memory");
        var map = HilBench.Memory.Backends.FaultMap.Load(_dir.File("scan.txt"));
        Assert.That(map.Reads.Select(r => r.Faults.Count), Is.EqualTo(points.Select(p => p.GetProperty("faults").GetInt32())));
    }

    [Test]
    public void AccuracyThroughTheBoardEqualsReplayOfTheSameFaults()
    {
        var board = Cli.Ok("eval", "--model", Model_, "--backend", "board", "--port", _board.Port, "--op", "V=0.5", "--trials", "2", "--json").Json();
        Cli.Ok("inject", "--model", Model_, "--backend", "board", "--port", _board.Port, "--op", "V=0.5",
            "--faults", _dir.File("faults.csv"), "--fault-map", _dir.File("faults.map"));
        var replay = Cli.Ok("eval", "--model", Model_, "--replay", _dir.File("faults.map"), "--trials", "1", "--json").Json();
        Assert.That(board.GetProperty("errors").GetString(), Does.StartWith("board hilboard-emu"));
        Assert.That(board.GetProperty("bit_error_rate").GetDouble(), Is.GreaterThan(1e-3));
        Assert.That(board.GetProperty("accuracy_mean").GetDouble(), Is.EqualTo(replay.GetProperty("accuracy_mean").GetDouble()));
        Assert.That(board.GetProperty("bit_error_rate").GetDouble(), Is.EqualTo(replay.GetProperty("bit_error_rate").GetDouble()));
        Assert.That(board.GetProperty("accuracy_ci95")[0].GetDouble(), Is.EqualTo(board.GetProperty("accuracy_ci95")[1].GetDouble()),
            "a board without transient faults gives the same faults on every read");
    }

    [Test]
    public void MetricsReadTheModelBackFromTheBoard()
    {
        var clean = Cli.Ok("metrics", "--model", Model_, "--images", "500", "--importance-images", "100", "--json").Json();
        var read = Cli.Ok("metrics", "--model", Model_, "--images", "500", "--importance-images", "100", "--json",
            "--backend", "board", "--port", _board.Port, "--op", "V=0.5").Json();
        Assert.That(read.GetProperty("memory").GetString(), Does.Contain("wrong bits"));
        Assert.That(read.GetProperty("layers")[0].GetProperty("nl_mean").GetDouble(),
            Is.Not.EqualTo(clean.GetProperty("layers")[0].GetProperty("nl_mean").GetDouble()));
    }

    [Test]
    public void ExperimentSweepsTheBoardsVoltages()
    {
        string outDir = _dir.File("study");
        Cli.Ok("experiment", "--models", Model_, "--backend", "board", "--port", _board.Port, "--images", "300", "--importance-images", "50",
            "--ber", "0,0.05", "--trials", "2", "--chips", "1", "--voltages", "0.52,0.50", "--out", outDir);
        string energy = File.ReadAllText(Path.Combine(outDir, "energy.csv"));
        Assert.That(energy, Does.Contain("V=0.52").And.Contain("V=0.5"));
        Assert.That(File.ReadAllText(Path.Combine(outDir, "report.md")), Does.Contain("board hilboard-emu"));
    }

    [Test]
    public void BadRequestsAreRefusedWithTheirCause()
    {
        var below = Cli.Run("eval", "--model", Model_, "--backend", "board", "--port", _board.Port, "--op", "V=0.45");
        Assert.That(below.ExitCode, Is.EqualTo(1), below.ToString);
        Assert.That(below.Stderr, Does.Contain("floor").And.Contain("500"));
        var hostFloor = Cli.Run("board", "compare", "--port", _board.Port, "--op", "V=0.55", "--voltage-floor", "0.6");
        Assert.That(hostFloor.ExitCode, Is.EqualTo(1), hostFloor.ToString);
        Assert.That(hostFloor.Stderr, Does.Contain("600"));
        var offStep = Cli.Run("board", "compare", "--port", _board.Port, "--op", "V=0.552");
        Assert.That(offStep.ExitCode, Is.EqualTo(1), offStep.ToString);
        Assert.That(offStep.Stderr, Does.Contain("step"));
        var noPort = Cli.Run("board", "info", "--port", _dir.File("no-such-tty"));
        Assert.That(noPort.ExitCode, Is.EqualTo(1), noPort.ToString);
        Assert.That(noPort.Stderr, Does.Contain("no-such-tty"));
        var missing = Cli.Run("eval", "--model", Model_, "--backend", "board");
        Assert.That(missing.ExitCode, Is.EqualTo(2), missing.ToString);
        Assert.That(missing.Stderr, Does.Contain("--port"));
    }

    [Test]
    public void ASweepThatLosesItsBoardKeepsItsPointsAndResumes()
    {
        string csv = _dir.File("sweep.csv");
        string[] voltages = ["0.60", "0.58", "0.56", "0.54", "0.52", "0.50"];
        CliRun? lost;
        using (var doomed = EmulatorProcess.Start(_emulator, seed: 1))
        {
            var run = Task.Run(() => Cli.Run("sweep", "--model", Model_, "--backend", "board", "--port", doomed.Port,
                "--voltages", string.Join(",", voltages), "--trials", "12", "--threads", "1", "--out", csv));
            // Pull the plug once the first voltage is on disk.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(csv) && File.ReadAllLines(csv).Length >= 3) && !run.IsCompleted && DateTime.UtcNow < deadline) Thread.Sleep(5);
            doomed.Kill();
            Assert.That(run.Wait(TimeSpan.FromSeconds(60)), "the sweep should give up on a dead board in bounded time");
            lost = run.Result;
            Assert.That(lost.ExitCode, Is.EqualTo(1), lost.ToString);
            Assert.That(lost.Stderr, Does.Contain(doomed.Port).And.Contain("--resume"), lost.ToString);
        }
        var kept = File.ReadAllLines(csv).Skip(2).ToArray(); // after the settings line and the header
        Assert.That(kept.Length, Is.InRange(1, voltages.Length - 1));

        // The same chip (seed 1) on a new port: the sweep keeps what it had and measures the rest.
        using var revived = EmulatorProcess.Start(_emulator, seed: 1);
        var resumed = Cli.Ok("sweep", "--model", Model_, "--backend", "board", "--port", revived.Port,
            "--voltages", string.Join(",", voltages), "--trials", "12", "--threads", "1", "--out", csv, "--resume");
        Assert.That(resumed.Stderr, Does.Contain($"kept {kept.Length} of {voltages.Length} voltages"));
        var rows = File.ReadAllLines(csv).Skip(2).ToArray();
        Assert.That(rows.Select(r => r.Split(',')[0]), Is.EqualTo(voltages.Select(v => double.Parse(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture))));
        Assert.That(rows.Take(kept.Length), Is.EqualTo(kept), "the points measured before the board was lost stay as they were");
    }
}
