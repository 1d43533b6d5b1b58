using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Board.Tests.Client;

[TestFixture]
public class BoardBackendTests
{
    // 10,003 bits: the last byte of the stored range holds 3 image bits and 5 cells that hold none.
    private const long ImageBits = 10_003;

    private FakeBoard _board = null!;
    private WeightImage _image = null!;

    [SetUp]
    public void MakeBoard()
    {
        _board = new FakeBoard();
        _image = Clients.RandomImage(ImageBits, 12);
        var random = new Random(13);
        for (int i = 0; i < 400; i++) _board.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        _board.AddWeakCell(10_005, 990, true); // inside the written range, outside the image
    }

    [TearDown]
    public void Dispose() => _board.Dispose();

    private BoardBackend Backend(BoardBackendOptions? options = null, Func<WeightImage, Placement>? placement = null, FakeBoard? board = null) =>
        new(Clients.Connect(board ?? _board), options, placement);

    /// <summary>What the fake's weak cells do to the image at a voltage, given where the placement put each bit.</summary>
    private List<Fault> ExpectedFaults(int voltageMv, Placement placement, FakeBoard? board = null) =>
        (board ?? _board).FailingCells(voltageMv)
            .Select(cell => (cell, bit: placement.ImageBitOf(cell)))
            .Where(x => x.bit >= 0)
            .Select(x => new Fault(x.bit, x.cell, _image[x.bit], !_image[x.bit]))
            .OrderBy(f => f.ImageBit)
            .ToList();

    [Test]
    public void StoreWritesTheUsedBytesAndLoadReturnsTheInjectedFaults()
    {
        using var backend = Backend();
        backend.Store(_image);
        Assert.That((backend.WrittenAddress, backend.WrittenLength), Is.EqualTo((0L, 1251L)));
        Assert.That(_board.Memory.AsSpan(1251).ToArray(), Is.All.Zero, "nothing beyond the image is written");

        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        var expected = ExpectedFaults(600, backend.Placement!);
        Assert.That(expected, Has.Count.GreaterThan(20));
        Assert.That(readout.Faults, Is.EqualTo(expected));
        Assert.That(readout.Faults.Select(f => f.Read), Is.EqualTo(readout.Faults.Select(f => !f.Stored)));
        Assert.That(readout.Faults.Any(f => f.Cell == 10_005), Is.False, "a cell without an image bit is not a fault");
        Assert.That(backend.LastLoad!.DifferingCells, Is.EqualTo(_board.FailingCells(600).Count(c => c < 8 * 1251)));
        Assert.That(readout.Geometry, Is.EqualTo(new MemoryGeometry(8, 64, 32)));
        Assert.That(readout.Measured, Is.EqualTo(new OperatingPoint(0.599, null, 25)), "the fake measures 1 mV under the set point");
        Assert.That(readout.Image.Distance(_image), Is.EqualTo(expected.Count));
        Assert.That(_board.Voltages, Is.EqualTo(new ushort[] { 600, 1000 }), "back to nominal after the load");
    }

    [Test]
    public void EnergyComesFromTheBoardsCurrentTelemetry()
    {
        using var backend = Backend();
        Assert.That(backend.Traits.ReportsEnergy, "the fake board measures its current");
        backend.Store(_image);
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        // The fake reports 12,345 µA at every point and measures 1 mV under the set point: only the voltage changes the power.
        Assert.That(readout.EnergySaving, Is.EqualTo(1 - 0.599 / 0.999).Within(1e-12));
        Assert.That(readout.EnergyJoules, Is.GreaterThan(0));
    }

    [Test]
    public void EnergyComesFromTheBenchRigWhenOneIsAttached()
    {
        // A monitor on the memory's rail: power V^2 / 100 ohm at the board's set point.
        var monitor = new Instruments.Simulation.ProfilePowerMonitor(new Instruments.Simulation.ManualTimeProvider(),
            _ => (_board.VoltageMv / 1000.0, _board.VoltageMv / 1000.0 / 100));
        var rig = new HilBench.Board.Instruments.BenchRig(monitor, null, new HilBench.Board.Instruments.BenchRigOptions { SampleInterval = TimeSpan.FromMilliseconds(1) });
        using var backend = Backend(new BoardBackendOptions { Rig = rig });
        backend.Store(_image);
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        Assert.That(readout.EnergySaving, Is.EqualTo(1 - 0.6 * 0.6).Within(1e-9), "constant power at each point: the saving is the power ratio");
        Assert.That(monitor.Reads, Is.GreaterThan(0));
    }

    [Test]
    public void APowerMonitorThatFailsAfterTheReadbackCostsTheEnergyNotTheFaults()
    {
        var monitor = new Instruments.Simulation.ProfilePowerMonitor(new Instruments.Simulation.ManualTimeProvider(), _ => (0.6, 0.006));
        var rig = new HilBench.Board.Instruments.BenchRig(monitor, null, new HilBench.Board.Instruments.BenchRigOptions { SampleInterval = TimeSpan.FromMilliseconds(1) });
        using var backend = Backend(new BoardBackendOptions { Rig = rig });
        backend.Store(_image);
        // From the COMPARE on, every read of the monitor fails: the sample that ends the readback is lost.
        _board.Executing = command => { if (command == Command.Compare && monitor.FailAfterReads == 0) monitor.FailAfterReads = monitor.Reads; };
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        Assert.That(readout.Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!)));
        Assert.That((readout.EnergyJoules, readout.NominalEnergyJoules), Is.EqualTo(((double?)null, (double?)null)));
        Assert.That(backend.LastLoad!.EnergyUnavailable, Does.Contain("power monitor profile monitor failed").And.Contain("Remote I/O error"));
        Assert.That(_board.VoltageMv, Is.EqualTo(1000));
    }

    [Test]
    public void AFailedRewriteOnADestructiveBoardForgetsTheImage()
    {
        using var destructive = new FakeBoard(capabilities: BoardCapabilities.CompareWritten | BoardCapabilities.Destructive);
        var random = new Random(13);
        for (int i = 0; i < 400; i++) destructive.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        using var backend = Backend(board: destructive);
        backend.Store(_image);
        destructive.Executing = command => { if (command == Command.Compare) destructive.Refuse = (Command.Write, Status.Internal); };
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.55))));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("rewriting bytes").And.Contain("INTERNAL").And.Contain("stuck values").And.Contain("Store it again"));
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.55))))!.Message, Does.Contain("nothing is stored"));
    }

    [Test]
    public void LowerVoltagesGiveNestedFaults()
    {
        using var backend = Backend();
        backend.Store(_image);
        var counts = new[] { 0.9, 0.75, 0.6, 0.5 }.Select(v => backend.Load(new LoadRequest(new OperatingPoint(v))).Faults.Select(f => f.ImageBit).ToHashSet()).ToArray();
        for (int i = 1; i < counts.Length; i++) Assert.That(counts[i].IsSupersetOf(counts[i - 1]));
        Assert.That(counts[^1], Has.Count.GreaterThan(counts[0].Count));
    }

    [Test]
    public void InterleavedPlacementMapsCellsBackToImageBits()
    {
        Func<WeightImage, Placement> interleaved = image => Placement.Create(image.Layout, _board.Description.Geometry, PlacementPolicy.WordInterleaved);
        using var backend = Backend(placement: interleaved);
        backend.Store(_image);
        Assert.That(backend.WrittenLength, Is.GreaterThan(7 * _board.Description.TotalBytes / 8), "word-interleaved spreads the image over every block");
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.55)));
        Assert.That(readout.Faults, Is.EqualTo(ExpectedFaults(550, backend.Placement!)));
    }

    [Test]
    public void BoardWithoutCompareWrittenIsReadBackAndDiffed()
    {
        using var plain = new FakeBoard(capabilities: BoardCapabilities.Temperature);
        var random = new Random(13);
        for (int i = 0; i < 400; i++) plain.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        using var backend = Backend(board: plain);
        backend.Store(_image);
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        Assert.That(readout.Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!, plain)));
        Assert.That(plain.ExecutedCount(Command.Compare), Is.Zero);
        Assert.That(plain.ExecutedCount(Command.Read), Is.EqualTo(1));
    }

    [Test]
    public void DestructiveBoardGetsTheFailedBytesRewritten()
    {
        using var destructive = new FakeBoard(capabilities: BoardCapabilities.CompareWritten | BoardCapabilities.Destructive);
        var random = new Random(13);
        for (int i = 0; i < 400; i++) destructive.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        using var backend = Backend(board: destructive);
        backend.Store(_image);
        var stored = destructive.Memory.AsSpan(0, 1251).ToArray();
        var first = backend.Load(new LoadRequest(new OperatingPoint(0.55)));
        Assert.That(destructive.Memory.AsSpan(0, 1251).ToArray(), Is.EqualTo(stored), "what the low voltage overwrote is back");
        Assert.That(destructive.ExecutedCount(Command.Write), Is.GreaterThan(1));
        var again = backend.Load(new LoadRequest(new OperatingPoint(0.55)));
        Assert.That(again.Faults, Is.EqualTo(first.Faults));
    }

    [Test]
    public void NominalIsRestoredWhenCompareFails()
    {
        using var backend = Backend();
        backend.Store(_image);
        _board.Refuse = (Command.Compare, Status.Internal);
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        Assert.That(e!.Message, Does.Contain("COMPARE").And.Contain("INTERNAL").And.Contain("fake-board"));
        Assert.That(e.Retryable, Is.False);
        Assert.That(_board.Voltages, Is.EqualTo(new ushort[] { 600, 1000 }));
        Assert.That(_board.VoltageMv, Is.EqualTo(1000));
    }

    [Test]
    public void ALoadWhoseBoardLeftThePointDuringTheReadIsNotReturned()
    {
        using var board = new FakeBoard(leaseMs: 200);
        // No lease keeper (Clients.Fast): the settle wait outlasts the lease, so the board is back at nominal for the COMPARE.
        using var backend = Backend(new BoardBackendOptions { SettleWait = TimeSpan.FromMilliseconds(500) }, board: board);
        backend.Store(_image);
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        Assert.That(e!.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>());
        Assert.That(e.Message, Does.Contain("ran out").And.Contain("measured again"));
        Assert.That(board.VoltageMv, Is.EqualTo(1000));
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(1.0))).Faults, Is.Empty, "the image is still stored and the next load runs");
    }

    [Test]
    public void AStoreAfterTheBoardLeftAPointOnItsOwnIsNotRefused()
    {
        using var board = new FakeBoard(leaseMs: 200);
        using var backend = Backend(board: board);
        backend.Client.SetOperatingPoint(600);
        Thread.Sleep(400); // no lease keeper: the board goes back to nominal on its own
        backend.Store(_image);
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(1.0))).Faults, Is.Empty);
    }

    [Test]
    public void NominalIsRestoredWhenTheLoadIsCancelled()
    {
        using var backend = Backend(new BoardBackendOptions { SettleWait = TimeSpan.FromSeconds(5) });
        backend.Store(_image);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.Catch<OperationCanceledException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6)), cancel.Token));
        Assert.That(_board.Voltages, Is.EqualTo(new ushort[] { 600, 1000 }));
        Assert.That(_board.ExecutedCount(Command.Compare), Is.Zero);
    }

    [Test]
    public void ABoardThatRestartedIsNotComparedAgainstWipedMemory()
    {
        using var backend = Backend();
        backend.Store(_image);
        _board.DropLink();
        var replugged = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        Assert.That(replugged.Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!)), "a replugged cable alone loses nothing");

        _board.Restart();
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(e.Message, Does.Contain("restarted").And.Contain("memory were lost").And.Contain("write the data again"));
        Assert.That(_board.Voltages.Count(v => v == 600), Is.EqualTo(1), "the SET_OP was not repeated on the restarted board");
        Assert.That(_board.VoltageMv, Is.EqualTo(1000));
        var again = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        Assert.That(again!.Message, Does.Contain("nothing is stored"));

        backend.Store(_image);
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(0.6))).Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!)));
    }

    [Test]
    public void ABoardThatRestartsWithTheLinkLeftOpenIsNotTakenForItsReadout()
    {
        using var backend = Backend();
        backend.Store(_image);
        // A watchdog reset just before the COMPARE: the port stays open, the memory is wiped.
        _board.Executing = command => { if (command == Command.Compare) { _board.Executing = null; _board.Restart(dropLink: false); } };
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(backend.Client.Statistics.Reconnects, Is.Zero);
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))))!.Message, Does.Contain("nothing is stored"));

        backend.Store(_image);
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(0.6))).Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!)));
    }

    [Test]
    public void AStoreAfterARestartIsNotRefused()
    {
        using var backend = Backend();
        backend.Store(_image);
        _board.Restart(dropLink: false);
        backend.Store(_image);
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(0.6))).Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!)));
    }

    /// <summary>A board with a short lease and this test's weak cells.</summary>
    private static FakeBoard ShortLeaseBoard()
    {
        var board = new FakeBoard(leaseMs: 300);
        var random = new Random(13);
        for (int i = 0; i < 400; i++) board.AddWeakCell(random.Next(16384), random.Next(500, 1000), random.Next(2) == 1);
        return board;
    }

    [Test]
    public void ALinkLostOnTheWayBackToNominalKeepsTheMeasuredLoad()
    {
        using var board = ShortLeaseBoard();
        using var backend = Backend(board: board);
        backend.Store(_image);
        // The link goes once the point is measured (its telemetry read): the way back to nominal outlasts the 300 ms
        // lease, so the reopened board is already at nominal, where the SET_OP takes it.
        bool compared = false;
        board.Executing = command =>
        {
            if (command == Command.Compare) compared = true;
            else if (command == Command.GetTelemetry && compared)
            {
                board.Executing = null;
                board.Unplugged = true;
            }
        };
        var readout = backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        Assert.That(readout.Faults, Is.EqualTo(ExpectedFaults(600, backend.Placement!, board)));
        Assert.That(backend.Client.Statistics.Reconnects, Is.EqualTo(1));
        Assert.That(board.VoltageMv, Is.EqualTo(1000));
        Assert.That(backend.Load(new LoadRequest(new OperatingPoint(0.6))).Faults, Is.EqualTo(readout.Faults), "the image is kept");
    }

    [Test]
    public void ARestartFoundOnTheWayBackToNominalForgetsTheImage()
    {
        using var backend = Backend();
        backend.Store(_image);
        int setOps = 0;
        _board.Executing = command => { if (command == Command.SetOp && ++setOps == 2) _board.Restart(); };
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        _board.Executing = null;
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))))!.Message, Does.Contain("nothing is stored"),
            "not compared against the wiped memory");
    }

    [Test]
    public void ARestartFoundOnTheWayBackFromAFailedLoadIsReportedByTheNextLoad()
    {
        using var backend = Backend();
        backend.Store(_image);
        _board.Refuse = (Command.Compare, Status.Internal);
        int setOps = 0;
        _board.Executing = command => { if (command == Command.SetOp && ++setOps == 2) _board.Restart(); };
        var e = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        Assert.That(e!.Message, Does.Contain("COMPARE").And.Contain("INTERNAL"), "the failure that ended the load");
        _board.Executing = null;
        int compares = _board.ExecutedCount(Command.Compare);
        var next = Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))));
        TestContext.Out.WriteLine(next!.Message);
        Assert.That(next.InnerException, Is.TypeOf<BoardStateLostException>().With.Property(nameof(BoardStateLostException.MemoryLost)).True);
        Assert.That(_board.ExecutedCount(Command.Compare), Is.EqualTo(compares), "not compared against the wiped memory");
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))))!.Message, Does.Contain("nothing is stored"));
    }

    [Test]
    public void PointsOffTheBoardAreRefusedBeforeAnythingIsSent()
    {
        using var backend = Backend(new BoardBackendOptions { VoltageFloorMv = 700 });
        backend.Store(_image);
        Assert.That(Assert.Throws<OperatingPointException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.45))))!.Message, Does.Contain("500 mV"));
        Assert.That(Assert.Throws<OperatingPointException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6512))))!.Message, Does.Contain("step"));
        var floor = Assert.Throws<OperatingPointException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.65))))!.Message;
        Assert.That(floor, Does.Contain("700 mV").And.Contain("500 mV"));
        Assert.That(_board.Voltages, Is.Empty);
    }

    [Test]
    public void PerPartitionPointsAndLoadBeforeStoreAreRefused()
    {
        using var backend = Backend();
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(new LoadRequest(new OperatingPoint(0.6))))!.Message, Does.Contain("nothing is stored"));
        backend.Store(_image);
        var request = new LoadRequest(new OperatingPoint(0.6)) { PartitionPoints = new Dictionary<string, OperatingPoint> { ["all"] = new(0.7) } };
        Assert.That(Assert.Throws<MemoryBackendException>(() => backend.Load(request))!.Message, Does.Contain("one supply"));
    }

    [Test]
    public void DescribesItselfAndReportsTheWire()
    {
        using var backend = Backend();
        Assert.That(backend.Name, Is.EqualTo("board fake-board 0.1 on /dev/fake-board"));
        Assert.That(backend.Traits, Is.EqualTo(new BackendTraits(Persistent: true, Slow: true, MeasuresOperatingPoint: true, ReportsEnergy: true)));
        Assert.That(((IMemoryBackend)backend).Geometry, Is.EqualTo(new MemoryGeometry(8, 64, 32)));
        backend.Store(_image);
        Assert.That(backend.LastStore!.Wire.BytesSent, Is.GreaterThan(1251));
        backend.Load(new LoadRequest(new OperatingPoint(0.6)));
        var load = backend.LastLoad!;
        Assert.That(load.Wire.Requests, Is.EqualTo(5), "SET_OP, COMPARE, GET_TELEMETRY, SET_OP, and once per stored image GET_TELEMETRY at nominal for the energy");
        Assert.That(load.Wire.BytesSent, Is.LessThan(100), "a COMPARE does not send the image again");
        Assert.That(load.Applied, Is.EqualTo(new BoardOperatingPoint(600)));
        Assert.That(load.Telemetry!.MeasuredVoltageMv, Is.EqualTo(599));
        TestContext.Out.WriteLine($"store: {backend.LastStore.Wire.BytesOnTheWire} bytes on the wire; load at 600 mV: {load.Wire.BytesSent} out, {load.Wire.BytesReceived} in");
    }

    [Test]
    public void StoreOfAnImageTooLargeForTheBoardFailsClearly()
    {
        using var backend = Backend();
        var e = Assert.Throws<PlacementException>(() => backend.Store(Clients.RandomImage(20_000, 1)));
        Assert.That(e!.Message, Does.Contain("20000 bits"));
    }

    [Test]
    public void MemoryBytesPutImageBitsIntoTheirCellsLsbFirst()
    {
        var geometry = new MemoryGeometry(4, 4, 16);
        var image = Clients.RandomImage(200, 3);
        foreach (var policy in new[] { PlacementPolicy.Contiguous, PlacementPolicy.WordInterleaved })
        {
            var placement = Placement.Create(image.Layout, geometry, policy);
            var (address, bytes) = BoardBackend.MemoryBytes(image, placement);
            for (long cell = 8 * address; cell < 8 * (address + bytes.Length); cell++)
            {
                bool value = (bytes[(cell >> 3) - address] >> (int)(cell & 7) & 1) != 0;
                long bit = placement.ImageBitOf(cell);
                Assert.That(value, Is.EqualTo(bit >= 0 && image[bit]), $"{policy}, cell {cell}");
            }
        }
    }
}
