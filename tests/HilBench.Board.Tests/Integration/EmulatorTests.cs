using System.Diagnostics;
using HilBench.Board.Emulation;
using HilBench.Board.Protocol;
using HilBench.Board.Tests.Support;
using HilBench.Board.Transport;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Board.Tests.Integration;

/// <summary>
/// The whole loop against the reference firmware's emulator on a pseudo-terminal, through System.IO.Ports:
/// what the board reports must be what its ground-truth file says.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("Integration")]
public class EmulatorTests
{
    /// <summary>The MLP's weight image: 784x2048, 2048x2048 and 2048x10 weights, 5,820,416 bits = 727,552 bytes.</summary>
    private static readonly ImageLayout MlpLayout = new([
        new ImageRegion(0, RegionKind.Weights, 0, 2048, 784),
        new ImageRegion(1, RegionKind.Weights, 1_605_632, 2048, 2048),
        new ImageRegion(2, RegionKind.Weights, 5_799_936, 10, 2048),
    ]);

    private string _temp = null!;
    private EmulatorProcess _emulator = null!;
    private ChipTruth _truth = null!;
    private string _executable = null!;
    private WeightImage _image = null!;

    [OneTimeSetUp]
    public void BuildAndStartTheEmulator()
    {
        _executable = EmulatorProcess.Build(Repo.Root);
        _temp = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "hilbench-board-tests", Path.GetRandomFileName())).FullName;
        _emulator = EmulatorProcess.Start(_executable, seed: 7, truthFile: Path.Combine(_temp, "truth.txt"));
        _truth = ChipTruth.Load(_emulator.TruthFile!);
        _image = new WeightImage(MlpLayout);
        var random = new Random(2024);
        for (long i = 0; i < _image.BitCount; i++) _image[i] = random.Next(2) == 1;
        TestContext.Out.WriteLine($"hilboard-emu on {_emulator.Port}: {_truth.Cells.Count} weak cells");
    }

    [OneTimeTearDown]
    public void StopTheEmulator()
    {
        _emulator?.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static BoardClient Open(EmulatorProcess emulator, BoardClientOptions? options = null) => BoardClient.Open(emulator.Port, options);

    [Test]
    public void HelloDescribesTheDefaultChip()
    {
        using var client = Open(_emulator);
        var b = client.Board;
        Assert.Multiple(() =>
        {
            Assert.That(b.Firmware, Does.StartWith("hilboard-emu "));
            Assert.That(b.Version, Is.EqualTo(1));
            Assert.That(b.MaxPayload, Is.EqualTo(4096));
            Assert.That(b.Geometry.ToString(), Is.EqualTo("256x1024x32"));
            Assert.That((b.VoltageNominalMv, b.VoltageFloorMv, b.VoltageMaxMv, b.VoltageStepMv), Is.EqualTo(((ushort)1000, (ushort)500, (ushort)1000, (ushort)5)));
            Assert.That(b.Has(BoardCapabilities.CompareWritten | BoardCapabilities.Emulated), Is.True);
            Assert.That(b.Has(BoardCapabilities.Destructive), Is.False);
            Assert.That(b.LeaseMs, Is.EqualTo(5000));
            Assert.That(client.Port, Is.EqualTo(_emulator.Port));
        });
        TestContext.Out.WriteLine($"{b.Firmware}: capabilities {b.Capabilities}, settle {b.SettleMs} ms, T {b.TemperatureMin / 10.0}..{b.TemperatureMax / 10.0} C step {b.TemperatureStep / 10.0}");
    }

    [Test]
    public void FullImageWritesAndReadsBackEqual()
    {
        using var backend = new BoardBackend(Open(_emulator));
        var clock = Stopwatch.StartNew();
        backend.Store(_image);
        var stored = clock.Elapsed;
        Assert.That((backend.WrittenAddress, backend.WrittenLength), Is.EqualTo((0L, 727_552L)));
        var expected = BoardBackend.MemoryBytes(_image, backend.Placement!).Bytes;
        clock.Restart();
        var read = backend.Client.Read(0, expected.Length);
        var readTime = clock.Elapsed;
        Assert.That(read.AsSpan().SequenceEqual(expected), "the bytes read back at nominal are the bytes written");
        TestContext.Out.WriteLine($"store 727,552 bytes: {stored.TotalMilliseconds:0} ms ({backend.LastStore!.Wire.FramesSent} frames, {backend.LastStore.Wire.BytesSent:N0} bytes out); " +
                                  $"read back: {readTime.TotalMilliseconds:0} ms");
    }

    [Test]
    public void CompareAtThreeVoltagesEqualsTheGroundTruth()
    {
        Assert.That(_truth.Cells.Where(c => c.Marginal), Is.Empty, "the default chip has no transient part, so every failure is deterministic");
        using var backend = new BoardBackend(Open(_emulator));
        var clock = Stopwatch.StartNew();
        backend.Store(_image);
        var storeTime = clock.Elapsed;
        var written = BoardBackend.MemoryBytes(_image, backend.Placement!).Bytes;
        foreach (int mv in new[] { 570, 550, 520 })
        {
            clock.Restart();
            var readout = backend.Load(new LoadRequest(new OperatingPoint(mv / 1000.0)));
            var loadTime = clock.Elapsed;
            var expected = _truth.FailingCells(mv, written);
            var load = backend.LastLoad!;
            Assert.That(readout.Faults.Select(f => f.Cell), Is.EqualTo(expected), $"{mv} mV");
            Assert.That(readout.Faults.Select(f => f.ImageBit), Is.EqualTo(expected), "contiguous placement: image bit = cell");
            Assert.That(readout.Faults.All(f => f.Read == !_image[f.ImageBit]));
            Assert.That(load.Applied!.Value.VoltageMv, Is.EqualTo(mv));
            Assert.That(readout.Measured!.Value.Voltage, Is.EqualTo(mv / 1000.0).Within(0.02), "telemetry measures the set point");
            TestContext.Out.WriteLine($"{mv} mV: {readout.Faults.Count} faults (truth {expected.Length}), BER {readout.BitErrorRate:E2}, " +
                                      $"{load.Wire.BytesSent} bytes out, {load.Wire.BytesReceived:N0} bytes in, load {loadTime.TotalMilliseconds:0} ms" +
                                      (mv == 550 ? $"; store + load at 550 mV: {(storeTime + loadTime).TotalMilliseconds:0} ms" : ""));
        }
        using var client = Open(_emulator);
        Assert.That(client.GetTelemetry().SetVoltageMv, Is.EqualTo(1000), "every load went back to nominal");
        Assert.That(_truth.FailingCells(520, written), Has.Length.GreaterThan(_truth.FailingCells(570, written).Length));
    }

    [Test]
    public void CompareAgainstAPatternEqualsTheGroundTruth()
    {
        using var client = Open(_emulator);
        const long length = 1 << 20;
        client.Fill(0, length, [0xFF, 0x00]);
        client.SetOperatingPoint(540);
        long[] differing;
        try
        {
            differing = client.Compare(0, length, [0xFF, 0x00]);
        }
        finally
        {
            client.RestoreNominal();
        }
        var pattern = new byte[length];
        for (int i = 0; i < pattern.Length; i += 2) pattern[i] = 0xFF;
        Assert.That(differing, Is.EqualTo(_truth.FailingCells(540, pattern)));
        TestContext.Out.WriteLine($"540 mV over the whole 1 MiB against FF 00: {differing.Length} bits differ");
    }

    [Test]
    public void VoltageBelowTheFloorIsRefusedByTheBoardAndByTheHost()
    {
        using var client = Open(_emulator);
        var reply = client.Send(Command.SetOp, Requests.SetOp(new BoardOperatingPoint(450)));
        Assert.That(reply.Status, Is.EqualTo(Status.VoltageFloor));
        Assert.That(client.Send(Command.SetOp, Requests.SetOp(new BoardOperatingPoint(552))).Status, Is.EqualTo(Status.BadArgument));
        var e = Assert.Throws<OperatingPointException>(() => client.SetOperatingPoint(450));
        Assert.That(e!.Message, Does.Contain("500 mV").And.Contain(_emulator.Port));
        Assert.That(client.GetTelemetry().SetVoltageMv, Is.EqualTo(1000), "nothing changed");
    }

    [Test]
    public void SilentHostLosesItsLeaseAndTheBoardReturnsToNominal()
    {
        using var emulator = EmulatorProcess.Start(_executable, arguments: ["--lease-ms", "300"]);
        using var client = Open(emulator, new BoardClientOptions { KeepLeaseAlive = false });
        Assert.That(client.LeaseMs, Is.EqualTo(300));
        client.SetOperatingPoint(600);
        Thread.Sleep(600);
        var e = Assert.Throws<MemoryBackendException>(() => client.GetTelemetry(), emulator.Log);
        Assert.That(e!.InnerException, Is.TypeOf<BoardStateLostException>(), emulator.Log);
        var t = client.LastTelemetry!;
        Assert.That((t.SetVoltageMv, t.LeaseExpired), Is.EqualTo(((ushort)1000, true)), emulator.Log);
        Assert.That(t.MeasuredVoltageMv, Is.EqualTo(1000).Within(20));
    }

    [Test]
    public void LeaseKeeperHoldsThePointWhileTheHostIsIdle()
    {
        using var emulator = EmulatorProcess.Start(_executable, arguments: ["--lease-ms", "300"]);
        using var client = Open(emulator);
        client.SetOperatingPoint(600);
        Thread.Sleep(1000);
        var t = client.GetTelemetry();
        Assert.That((t.SetVoltageMv, t.LeaseExpired), Is.EqualTo(((ushort)600, false)), emulator.Log);
        Assert.That(client.Statistics.LeaseRenewals, Is.GreaterThanOrEqualTo(3));
    }

    [Test]
    public void KillingTheEmulatorMidTransferIsALostLinkNamingThePort()
    {
        using var emulator = EmulatorProcess.Start(_executable, seed: 3);
        var transport = new KillAfter(new SerialPortTransport(emulator.Port), 100_000, emulator);
        using var backend = new BoardBackend(BoardClient.Connect(transport));
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<MemoryBackendException>(() => backend.Store(_image));
        clock.Stop();
        TestContext.Out.WriteLine($"{e!.Message} ({clock.ElapsedMilliseconds} ms)");
        Assert.That(e.Retryable, Is.True);
        Assert.That(e.Message, Does.Contain($"board on {emulator.Port}").And.Contain("WRITE").And.Contain("hilboard-emu is running"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }

    /// <summary>A transport that kills the emulator once a number of bytes went out: "mid-transfer" at a known place.</summary>
    private sealed class KillAfter(IBoardTransport inner, long bytes, EmulatorProcess emulator) : IBoardTransport
    {
        private long _sent;

        public string Name => inner.Name;

        public void Write(ReadOnlySpan<byte> data)
        {
            inner.Write(data);
            if ((_sent += data.Length) >= bytes) emulator.Kill();
        }

        public int Read(Span<byte> buffer, TimeSpan timeout) => inner.Read(buffer, timeout);

        public void Reopen() => inner.Reopen();

        public TimeSpan TransferTime(int n) => inner.TransferTime(n);

        public void Dispose() => inner.Dispose();
    }
}
