using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Board.Tests.Client;

[TestFixture]
public class PatternScanTests
{
    [Test]
    public void ACancellationAfterTheReadKeepsTheReadAndLeavesTheBoardAtNominalWithItsPattern()
    {
        using var board = new FakeBoard(capabilities: BoardCapabilities.CompareWritten | BoardCapabilities.Destructive);
        board.AddWeakCell(8 * 10 + 3, 900, false);
        using var client = Clients.Connect(board);
        using var cancel = new CancellationTokenSource();
        // Cancelled from inside the exchange, once the COMPARE has been answered.
        bool compared = false;
        board.Executing = command =>
        {
            if (command == Command.Compare) compared = true;
            else if (command == Command.GetTelemetry && compared) cancel.Cancel();
        };
        var scans = new List<(ScanPoint Scan, int? Repeat)>();

        Assert.Catch<OperationCanceledException>(() =>
            PatternScan.Run(client, [new OperatingPoint(0.6), new OperatingPoint(0.55)], 1, 0, 64, [0xFF], scans, cancel: cancel.Token));

        Assert.That(scans, Has.Count.EqualTo(1), "the point read before the cancellation is kept");
        Assert.That(scans[0].Scan.Cells, Is.EqualTo(new long[] { 8 * 10 + 3 }));
        Assert.That(board.Voltages, Is.EqualTo(new ushort[] { 1000, 600, 1000 }), "back to nominal, and the second point never started");
        Assert.That(board.Memory.AsSpan(0, 64).ToArray(), Is.All.EqualTo((byte)0xFF), "the destructive read's damage was refilled");
    }

    [Test]
    public void AFailedReadIsReportedEvenWhenReturningToNominalFailsToo()
    {
        using var board = new FakeBoard();
        using var client = Clients.Connect(board);
        PatternScan.Prepare(client, 0, 64, [0xA5]);
        board.Refuse = (Command.Compare, Status.Internal);
        // From the COMPARE on, the board is busy: the way back to nominal fails as well (a lost link).
        board.Executing = command => { if (command == Command.Compare) board.BusyReplies = 100; };
        var e = Assert.Throws<BoardStatusException>(() => PatternScan.Measure(client, new OperatingPoint(0.6), 0, 64, [0xA5]));
        Assert.That(e!.Command, Is.EqualTo(Command.Compare), "the failure that ended the read, not the one after it");
    }

    [Test]
    public void ARestartBeforeTheFirstPointIsReported()
    {
        using var board = new FakeBoard();
        using var client = Clients.Connect(board);
        PatternScan.Prepare(client, 0, 64, [0xA5]);
        board.Restart(dropLink: false); // the pattern is gone; the wiped memory would read as faults
        var e = Assert.Throws<MemoryBackendException>(() => PatternScan.Measure(client, new OperatingPoint(0.6), 0, 64, [0xA5]));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(board.VoltageMv, Is.EqualTo(1000));

        PatternScan.Prepare(client, 0, 64, [0xA5]);
        Assert.That(PatternScan.Measure(client, new OperatingPoint(0.6), 0, 64, [0xA5]).Cells, Is.Empty, "filled again, measured again");
    }

    [Test]
    public void ALinkLostOnTheWayBackToNominalKeepsThePointRead()
    {
        using var board = new FakeBoard(leaseMs: 300);
        board.AddWeakCell(8 * 10 + 3, 900, false);
        using var client = Clients.Connect(board);
        PatternScan.Prepare(client, 0, 64, [0xFF]);
        bool compared = false;
        board.Executing = command =>
        {
            if (command == Command.Compare) compared = true;
            else if (command == Command.GetTelemetry && compared)
            {
                board.Executing = null;
                board.Unplugged = true; // the resends of the SET_OP back to nominal outlast the 300 ms lease
            }
        };
        var scan = PatternScan.Measure(client, new OperatingPoint(0.6), 0, 64, [0xFF]);
        Assert.That(scan.Cells, Is.EqualTo(new long[] { 8 * 10 + 3 }));
        Assert.That(client.Statistics.Reconnects, Is.EqualTo(1));
        Assert.That(board.VoltageMv, Is.EqualTo(1000));
    }

    [Test]
    public void APointReadMoreThanOnceIsSavedAsTrialsAndLoadsBack()
    {
        using var board = new FakeBoard();
        board.AddWeakCell(8 * 10 + 3, 900, false);
        board.AddWeakCell(8 * 20 + 1, 580, false);
        using var client = Clients.Connect(board);
        var scans = new List<(ScanPoint Scan, int? Repeat)>();
        // --voltages 0.6,0.55,0.6 without --repeats
        PatternScan.Run(client, [new OperatingPoint(0.6), new OperatingPoint(0.55), new OperatingPoint(0.6)], 1, 0, 64, [0xFF], scans);
        var map = PatternScan.ToFaultMap(client.Board, scans, "test");
        Assert.That(map.Reads.Select(r => (r.Point.Voltage, r.Trial)), Is.EqualTo(new (double, int?)[] { (0.6, 0), (0.55, null), (0.6, 1) }));

        using var text = new StringWriter();
        map.Save(text);
        string path = Path.Combine(Path.GetTempPath(), $"hilbench-scan-{Guid.NewGuid():N}.map");
        try
        {
            File.WriteAllText(path, text.ToString());
            var loaded = FaultMap.Load(path);
            Assert.That(loaded.Reads.Select(r => (r.Point.Voltage, r.Trial, r.Faults.Count)), Is.EquivalentTo(new (double, int?, int)[] { (0.6, 0, 1), (0.55, null, 2), (0.6, 1, 1) }));
        }
        finally
        {
            File.Delete(path);
        }

        // With repeats, a point listed twice goes on counting its trials.
        scans.Clear();
        PatternScan.Run(client, [new OperatingPoint(0.6), new OperatingPoint(0.6)], 2, 0, 64, [0xFF], scans);
        Assert.That(PatternScan.ToFaultMap(client.Board, scans, "test").Reads.Select(r => r.Trial), Is.EqualTo(new int?[] { 0, 1, 2, 3 }));
    }
}
