using System.Diagnostics;
using HilBench.Board.Protocol;
using HilBench.Memory;
using HilBench.Memory.Backends;
using HilBench.Memory.Geometry;
using HilBench.Memory.Images;

namespace HilBench.Board;

/// <summary>Settings of a <see cref="BoardBackend"/>.</summary>
public sealed record BoardBackendOptions
{
    /// <summary>Extra wait after SET_OP, on top of the settle time the board already waits before it replies.</summary>
    public TimeSpan SettleWait { get; init; } = TimeSpan.Zero;

    /// <summary>The user's voltage floor in mV: loads below max(board floor, client floor, this) are refused before anything is sent.</summary>
    public int? VoltageFloorMv { get; init; }

    /// <summary>Dispose the <see cref="BoardClient"/> (and the <see cref="Rig"/>) with the backend.</summary>
    public bool OwnsClient { get; init; } = true;

    /// <summary>
    /// A bench rig whose power monitor sits on the memory's supply rail: each load's readback energy is measured
    /// over the COMPARE. Without one, a board that measures its own current (capability CURRENT) gives the energy
    /// as telemetry power times the COMPARE's duration.
    /// </summary>
    public Instruments.BenchRig? Rig { get; init; }
}

/// <summary>What one Store or Load cost on the link and what the board said about itself.</summary>
/// <param name="Wire">Bytes and frames of this operation alone.</param>
/// <param name="Applied">The point SET_OP applied (null for a Store).</param>
/// <param name="Telemetry">The board's telemetry at the point, read before going back to nominal (null for a Store).</param>
/// <param name="DifferingCells">Cells of the stored byte range that read wrong, image bits or not.</param>
/// <param name="EnergyUnavailable">Why a load that measures energy has no energy figure (the power monitor failed, ...); null otherwise.</param>
public sealed record BoardTransferStatistics(WireStatistics Wire, TimeSpan Elapsed, BoardOperatingPoint? Applied, Telemetry? Telemetry, long DifferingCells,
    string? EnergyUnavailable = null);

/// <summary>
/// A real (or emulated) memory board behind <see cref="IMemoryBackend"/>. Store places the image on the board's
/// geometry and WRITEs the bytes it occupies (unused cells in that range as 0). Load moves the memory to the
/// requested point, asks which bits of the stored range read wrong (COMPARE against what was written, or READ and
/// diff on boards that do not keep it), reads telemetry for the measured point, and always returns to nominal,
/// even on failure or cancellation; a destructive board then gets back the bytes that failed. Faults are cells
/// holding image bits that read differently from what was stored. A board that restarted (memory wiped) or a
/// failed rewrite makes the backend forget its image, so the next Load asks for a Store instead of comparing
/// against memory that no longer holds it.
/// <para>
/// A board's transient part is not under the host's control, so the trial number selects nothing: every load is
/// a fresh measurement of the same chip. Loads are serialized (one board, one operating point at a time).
/// </para>
/// </summary>
public sealed class BoardBackend : IMemoryBackend
{
    private readonly Func<WeightImage, Placement> _place;
    private readonly Lock _gate = new();
    private WeightImage? _stored;
    private Placement? _placement;
    private byte[] _written = [];
    private long _writtenAddress;
    private double? _nominalWatts;

    public BoardBackend(BoardClient client, BoardBackendOptions? options = null, Func<WeightImage, Placement>? placement = null)
    {
        Client = client;
        Options = options ?? new BoardBackendOptions();
        if (!client.IsConnected) client.Hello();
        Board = client.Board;
        _place = placement ?? (image => Placement.Create(image.Layout, Board.Geometry, PlacementPolicy.Contiguous));
    }

    public BoardClient Client { get; }

    public BoardBackendOptions Options { get; }

    public BoardDescription Board { get; }

    public string Name => $"board {Board.Firmware} on {Client.Port}";

    public BackendTraits Traits => new(Persistent: true, Slow: true, MeasuresOperatingPoint: true, ReportsEnergy: MeasuresEnergy);

    private bool MeasuresEnergy => Options.Rig?.Monitor is not null || Board.Has(BoardCapabilities.Current);

    public MemoryGeometry Geometry => Board.Geometry;

    MemoryGeometry? IMemoryBackend.Geometry => Geometry;

    /// <summary>Where the stored image sits; null before <see cref="Store"/>.</summary>
    public Placement? Placement => _placement;

    /// <summary>The byte range the last Store wrote: [WrittenAddress, WrittenAddress + WrittenLength).</summary>
    public long WrittenAddress => _writtenAddress;

    public long WrittenLength => _written.Length;

    public BoardTransferStatistics? LastStore { get; private set; }

    public BoardTransferStatistics? LastLoad { get; private set; }

    public void Store(WeightImage image, CancellationToken cancel = default)
    {
        var placement = _place(image);
        if (placement.Geometry != Geometry) throw new ArgumentException($"the placement is for geometry {placement.Geometry}, but {Name} is {Geometry}");
        if (!placement.Layout.SameShape(image.Layout)) throw new ArgumentException("the placement was made for another image layout");
        var (address, bytes) = MemoryBytes(image, placement);
        lock (_gate)
        {
            var before = Client.Statistics;
            var clock = Stopwatch.StartNew();
            // Forget the old image first: a Store that fails part-way leaves the board holding neither.
            _stored = null;
            try
            {
                Client.LearnBootTime(cancel);
                Client.Write(address, bytes, cancel);
            }
            catch (BoardException e)
            {
                throw new MemoryBackendException($"{Name}: storing {bytes.Length} bytes at byte {address} failed: {e.Message}", inner: e);
            }
            _stored = image.Clone();
            _placement = placement;
            _written = bytes;
            _writtenAddress = address;
            _nominalWatts = null;
            LastStore = new BoardTransferStatistics(Client.Statistics - before, clock.Elapsed, null, null, 0);
        }
    }

    public MemoryReadout Load(LoadRequest request, CancellationToken cancel = default)
    {
        lock (_gate)
        {
            var stored = _stored ?? throw new MemoryBackendException($"{Name}: nothing is stored; call Store(image) before Load");
            if (request.PartitionPoints.Count > 0)
                throw new MemoryBackendException($"{Name}: the board has one supply for the whole memory; per-partition operating points need a backend that models partitions");
            var target = Client.ToBoardPoint(request.Point);
            if (Options.VoltageFloorMv is { } floor && target.VoltageMv < floor)
                throw new OperatingPointException($"refusing V={request.Point.Voltage} on {Client.Port}: below the backend's voltage floor of {floor} mV (the board's floor is {Board.VoltageFloorMv} mV, the client's {Client.VoltageFloorMv} mV)");

            var before = Client.Statistics;
            var clock = Stopwatch.StartNew();
            BoardOperatingPoint applied = default;
            Telemetry telemetry;
            long[] differing;
            double? readWatts;
            double readSeconds;
            string? energyUnavailable;
            bool measured = false, linkLost = false;
            try
            {
                applied = Client.SetOperatingPoint(target, cancel);
                if (Options.SettleWait > TimeSpan.Zero && cancel.WaitHandle.WaitOne(Options.SettleWait)) cancel.ThrowIfCancellationRequested();
                (differing, readWatts, readSeconds, energyUnavailable) = MeasuredRead(cancel);
                telemetry = Client.GetTelemetry(cancel);
                if (Options.Rig?.Monitor is null) readWatts = TelemetryWatts(telemetry);
                measured = true;
            }
            catch (BoardException e)
            {
                throw new MemoryBackendException($"{Name}: load at {request.Point} failed: {e.Message}", inner: e);
            }
            catch (MemoryBackendException e)
            {
                // A lost link: the client already retried and reopened the port, and the board's lease takes it back to
                // nominal. A board that lost its point or restarted still answers, and may have been set again since.
                linkLost = e.InnerException is not BoardStateLostException;
                ForgetIfWiped(e);
                throw;
            }
            finally
            {
                if (!linkLost) RestoreNominal(anotherFailureLeaving: !measured);
            }
            if (Board.Has(BoardCapabilities.Destructive)) Rewrite(differing);
            if (MeasuresEnergy && energyUnavailable is null && _nominalWatts is null) // back at nominal now: once per stored image
                (_nominalWatts, energyUnavailable) = NominalWatts(cancel);

            var faults = new List<Fault>();
            foreach (long cell in differing)
            {
                long bit = _placement!.ImageBitOf(cell);
                if (bit < 0) continue;
                bool value = stored[bit];
                // COMPARE reports the complement of the reference, and the reference is what this backend wrote.
                faults.Add(new Fault(bit, cell, value, !value));
            }
            faults.Sort((a, b) => a.ImageBit.CompareTo(b.ImageBit));
            LastLoad = new BoardTransferStatistics(Client.Statistics - before, clock.Elapsed, applied, telemetry, differing.Length, energyUnavailable);
            return new MemoryReadout(stored, faults, request)
            {
                Geometry = Geometry,
                Measured = telemetry.Measured(Board.ControlsTrcd),
                // The same readback at both points, so the saving is the power saving of the memory's supply.
                EnergyJoules = energyUnavailable is null ? readWatts * readSeconds : null,
                NominalEnergyJoules = energyUnavailable is null ? _nominalWatts * readSeconds : null,
            };
        }
    }

    public void Dispose()
    {
        if (Options.OwnsClient)
        {
            Client.Dispose();
            Options.Rig?.Dispose();
        }
    }

    /// <summary>
    /// The bytes of the board's memory that hold the image (byte a holds cells 8a..8a+7, LSB first), from the
    /// first to the last byte touched; cells in that range without an image bit are 0.
    /// </summary>
    internal static (long Address, byte[] Bytes) MemoryBytes(WeightImage image, Placement placement)
    {
        if (image.BitCount == 0) return (0, []);
        long first = long.MaxValue, last = -1;
        for (long i = 0; i < image.BitCount; i++)
        {
            long c = placement.CellOf(i);
            if (c < first) first = c;
            if (c > last) last = c;
        }
        long address = first >> 3;
        var bytes = new byte[(last >> 3) - address + 1];
        var words = image.Words;
        for (long i = 0; i < image.BitCount; i++)
            if ((words[(int)(i >> 6)] >> (int)(i & 63) & 1) != 0)
            {
                long c = placement.CellOf(i);
                bytes[(c >> 3) - address] |= (byte)(1 << (int)(c & 7));
            }
        return (address, bytes);
    }

    /// <summary>
    /// The readback, with the mean supply power over it when a rig measures it (else null) and its duration. A power
    /// monitor that fails does not cost the readback: it comes without a power figure, and the last item says why.
    /// </summary>
    private (long[] Cells, double? Watts, double Seconds, string? EnergyUnavailable) MeasuredRead(CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        if (Options.Rig is { Monitor: not null } rig)
        {
            bool began = false;
            long[]? read = null;
            try
            {
                var (cells, energy) = rig.MeasureEnergy(() =>
                {
                    began = true;
                    return read = DifferingCells(cancel);
                });
                return (cells, energy!.MeanWatts, energy.Duration.TotalSeconds, null);
            }
            catch (Exception e) when (!began || read is not null)
            {
                // Only the monitor failed (before or after the readback, not in it).
                string why = $"the power monitor {rig.Monitor.Description} failed ({e.Message}); the faults were measured without an energy figure";
                if (read is not null) return (read, null, clock.Elapsed.TotalSeconds, why);
                clock.Restart();
                read = DifferingCells(cancel);
                return (read, null, clock.Elapsed.TotalSeconds, why);
            }
        }
        var plain = DifferingCells(cancel);
        return (plain, null, clock.Elapsed.TotalSeconds, null);
    }

    /// <summary>
    /// Supply power at the nominal point (where the board is): a readback measured by the rig, or the board's telemetry.
    /// The load's faults are already measured, so a failure here leaves the readout without an energy figure and says why.
    /// </summary>
    private (double? Watts, string? Unavailable) NominalWatts(CancellationToken cancel)
    {
        try
        {
            if (Options.Rig is { Monitor: not null })
            {
                var (_, watts, _, unavailable) = MeasuredRead(cancel);
                return (watts, unavailable);
            }
            return (TelemetryWatts(Client.GetTelemetry(cancel)), null);
        }
        catch (Exception e) when (e is BoardException or MemoryBackendException or OperationCanceledException)
        {
            if (e is MemoryBackendException m) ForgetIfWiped(m);
            return (null, $"the power at the nominal point could not be measured ({e.Message}); the faults were measured without an energy figure");
        }
    }

    private double? TelemetryWatts(Telemetry t) =>
        Board.Has(BoardCapabilities.Current) ? t.MeasuredVoltage * t.CurrentMicroamps * 1e-6 : null;

    private long[] DifferingCells(CancellationToken cancel)
    {
        if (_written.Length == 0) return [];
        if (Board.Has(BoardCapabilities.CompareWritten)) return Client.CompareWritten(_writtenAddress, _written.Length, cancel);
        // Without the board's copy, the whole range comes back and the host diffs it: slower, same answer.
        var read = Client.Read(_writtenAddress, _written.Length, cancel);
        var cells = new List<long>();
        for (int i = 0; i < read.Length; i++)
        {
            int diff = read[i] ^ _written[i];
            while (diff != 0)
            {
                int k = System.Numerics.BitOperations.TrailingZeroCount(diff);
                cells.Add((_writtenAddress + i) * 8 + k);
                diff &= diff - 1;
            }
        }
        return cells.ToArray();
    }

    /// <summary>Back to nominal after a load; a board found restarted on the way has lost the image.</summary>
    private void RestoreNominal(bool anotherFailureLeaving)
    {
        try
        {
            Client.RestoreNominalAfterMeasuring(anotherFailureLeaving);
        }
        catch (MemoryBackendException e)
        {
            ForgetIfWiped(e);
            throw;
        }
    }

    /// <summary>A board that restarted while the link was down has lost the image: the next Load must not compare against wiped memory.</summary>
    private void ForgetIfWiped(MemoryBackendException e)
    {
        if (e.InnerException is BoardStateLostException { MemoryLost: true }) _stored = null;
    }

    /// <summary>On a destructive board the failing cells now hold their stuck values: write back the bytes they sit in, in runs.</summary>
    private void Rewrite(long[] differing)
    {
        if (differing.Length == 0) return;
        const int Join = 16;
        long runStart = -1, runEnd = -1;
        foreach (long cell in differing)
        {
            long offset = (cell >> 3) - _writtenAddress;
            if (runStart >= 0 && offset <= runEnd + Join && offset - runStart < Frame.MaxWriteData)
            {
                runEnd = Math.Max(runEnd, offset);
                continue;
            }
            if (runStart >= 0) WriteBack(runStart, runEnd);
            runStart = runEnd = offset;
        }
        WriteBack(runStart, runEnd);
    }

    private void WriteBack(long from, long to)
    {
        try
        {
            Client.Write(_writtenAddress + from, _written.AsSpan((int)from, (int)(to - from + 1)), CancellationToken.None);
        }
        catch (Exception e) when (e is BoardException or MemoryBackendException)
        {
            // Comparing against the image again would count the stuck values left in memory as faults of the next load.
            _stored = null;
            throw new MemoryBackendException($"{Name}: rewriting bytes {_writtenAddress + from}..{_writtenAddress + to} after a destructive read failed ({e.Message}); " +
                                             "the board still holds stuck values where the image was, so the image is forgotten: Store it again",
                                             retryable: e is MemoryBackendException { Retryable: true }, inner: e);
        }
    }
}
