using System.Buffers.Binary;
using System.Globalization;
using HilBench.Board.Protocol;
using HilBench.Board.Transport;
using HilBench.Memory;
using HilBench.Memory.Backends;

namespace HilBench.Board;

/// <summary>
/// The host side of PROTOCOL.md over one link: HELLO and version negotiation, one request in flight, request ids
/// 1..65535 (never 0), a reply timeout, resends with the same id (the board's reply cache makes them safe), stale
/// replies discarded, one reopen of the port (with a check that the board kept its point and did not restart) before
/// the link is reported lost, the lease kept alive while the board
/// is away from its nominal point, and a host-side voltage floor. Thread-safe: requests are serialized.
/// <para>
/// Failures: a lost link is a <see cref="MemoryBackendException"/> with Retryable = true naming the port and the
/// request (with an inner <see cref="BoardStateLostException"/> when the reopened board lost its point or its memory);
/// a restart that GET_TELEMETRY shows with the link left open (a watchdog, a brown-out, a USB-UART bridge of its own)
/// is a retryable <see cref="MemoryBackendException"/> with an inner <see cref="BoardStateLostException"/> too, and one a
/// lease renewal saw is reported by the next request, which is not sent;
/// an error status is a <see cref="BoardStatusException"/>; a malformed reply a
/// <see cref="BoardProtocolException"/>; a point the board cannot take an <see cref="OperatingPointException"/>.
/// </para>
/// </summary>
public sealed class BoardClient : IDisposable
{
    public const byte HostMinVersion = 1, HostMaxVersion = 1;

    private readonly IBoardTransport _transport;
    private readonly FrameDecoder _decoder = new();
    private readonly Lock _gate = new();
    private readonly byte[] _wire = new byte[FrameEncoder.MaxWireLength];
    private readonly byte[] _readBuffer = new byte[16 * 1024];
    private readonly Thread? _leaseKeeper;
    private readonly ManualResetEventSlim _stopping = new();
    private BoardDescription? _board;
    private ushort _lastId;
    private long _lastSentTicks = Environment.TickCount64;
    private long _lastReplyTicks = Environment.TickCount64;
    private long? _bootTicks;
    private long _bootSeenTicks;
    private uint _leaseMs;
    private volatile bool _awayFromNominal;
    private string? _restartUnreported; // a restart seen where no caller could be told (a lease renewal): the next request reports it
    private string? _pointLostUnreported; // a lost point seen by a request it does not matter to: the next one it matters to reports it
    private volatile bool _disposed;
    private long _bytesSent, _bytesReceived, _requests, _framesSent, _retries, _timeouts, _damaged, _stale, _reconnects, _renewals;

    /// <summary>A client over <paramref name="transport"/> (which it then owns); call <see cref="Hello"/> before anything else.</summary>
    public BoardClient(IBoardTransport transport, BoardClientOptions? options = null)
    {
        _transport = transport;
        Options = options ?? new BoardClientOptions();
        if (Options.Retries < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Retries, "retries cannot be negative");
        if (Options.KeepLeaseAlive)
        {
            // A thread of its own: a renewal may wait out timeouts, which a thread-pool timer should not.
            _leaseKeeper = new Thread(KeepLease) { IsBackground = true, Name = $"lease keeper {transport.Name}" };
            _leaseKeeper.Start();
        }
    }

    /// <summary>Opens a serial port (or pseudo-terminal) and says HELLO; a port that cannot be opened is a retryable <see cref="MemoryBackendException"/>.</summary>
    public static BoardClient Open(string port, BoardClientOptions? options = null, int baudRate = SerialPortTransport.DefaultBaudRate, CancellationToken cancel = default)
    {
        SerialPortTransport transport;
        try
        {
            transport = new SerialPortTransport(port, baudRate);
        }
        catch (IOException e)
        {
            throw new MemoryBackendException($"{e.Message}; check the cable/port, or that hilboard-emu is running", retryable: true, e);
        }
        return Connect(transport, options, cancel);
    }

    /// <summary>A client over <paramref name="transport"/> that has already said HELLO.</summary>
    public static BoardClient Connect(IBoardTransport transport, BoardClientOptions? options = null, CancellationToken cancel = default)
    {
        var client = new BoardClient(transport, options);
        try
        {
            client.Hello(cancel);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public BoardClientOptions Options { get; }

    /// <summary>The port or link name, for messages.</summary>
    public string Port => _transport.Name;

    /// <summary>The board as its last HELLO described it.</summary>
    public BoardDescription Board => _board ?? throw new InvalidOperationException($"no HELLO on {Port} yet; call Hello() first");

    public bool IsConnected => _board is not null;

    /// <summary>The lowest voltage this client sends: the higher of the board's floor and <see cref="BoardClientOptions.VoltageFloorMv"/>.</summary>
    public int VoltageFloorMv => Math.Max(Board.VoltageFloorMv, Options.VoltageFloorMv ?? 0);

    /// <summary>The lease in force as the board last reported it (HELLO, LEASE), in ms; 0 before HELLO.</summary>
    public uint LeaseMs => _leaseMs;

    /// <summary>The point the last SET_OP applied, or null before one.</summary>
    public BoardOperatingPoint? AppliedPoint { get; private set; }

    /// <summary>The last telemetry received, including the lease keeper's.</summary>
    public Telemetry? LastTelemetry { get; private set; }

    /// <summary>The last error of a background lease renewal (the next foreground request reports the link's state itself).</summary>
    public Exception? LeaseKeeperError { get; private set; }

    public WireStatistics Statistics =>
        new(_bytesSent, _bytesReceived, _requests, _framesSent, _retries, _timeouts, _damaged, _stale, _reconnects, _renewals);

    /// <summary>What the receiver dropped or refused (garbage, bad CRC, bad length, too long), since the client was made.</summary>
    public FrameDecoderCounts DecoderCounts
    {
        get
        {
            lock (_gate) return _decoder.Counts;
        }
    }

    /// <summary>The id the next request gets; settable so tests can reach the wrap from 65535 to 1.</summary>
    internal ushort LastRequestId
    {
        get => _lastId;
        set => _lastId = value;
    }

    /// <summary>Says HELLO: agrees on a protocol version and learns the board (geometry, ranges, settle time, lease).</summary>
    public BoardDescription Hello(CancellationToken cancel = default)
    {
        lock (_gate) return HelloLocked(cancel, mayReconnect: true);
    }

    /// <summary>Moves the memory to a point given in the board's units, after the host's floor check; returns the point applied.</summary>
    public BoardOperatingPoint SetOperatingPoint(BoardOperatingPoint point, CancellationToken cancel = default)
    {
        var board = Board;
        if (point.VoltageMv < VoltageFloorMv) throw new OperatingPointException(FloorRefusal(point.VoltageMv));
        // The reply and the state it sets in one hold of the gate: a lease renewal in between would compare the board's new
        // point with the old one and take the difference for a lost point.
        lock (_gate)
        {
            var reply = Expect(Command.SetOp, Requests.SetOp(point), $"SET_OP {point}", cancel, TimeSpan.FromMilliseconds(board.SettleMs));
            var applied = BoardOperatingPoint.Parse(reply.Span);
            AppliedPoint = applied;
            _awayFromNominal = !IsNominal(applied);
            return applied;
        }
    }

    /// <summary>Moves the memory to <paramref name="voltageMv"/> with nominal tRCD and temperature.</summary>
    public BoardOperatingPoint SetOperatingPoint(int voltageMv, CancellationToken cancel = default)
    {
        if (voltageMv is < 0 or > ushort.MaxValue) throw new OperatingPointException($"{voltageMv} mV is not a voltage the protocol carries (0..65535 mV)");
        return SetOperatingPoint(new BoardOperatingPoint((ushort)voltageMv), cancel);
    }

    /// <summary>Moves the memory to <paramref name="point"/> (volts, ns, °C), which must be representable on the board (<see cref="ToBoardPoint"/>).</summary>
    public BoardOperatingPoint SetOperatingPoint(OperatingPoint point, CancellationToken cancel = default) => SetOperatingPoint(ToBoardPoint(point), cancel);

    /// <summary>Back to the nominal voltage, tRCD and temperature.</summary>
    public BoardOperatingPoint RestoreNominal(CancellationToken cancel = default) => SetOperatingPoint(Board.Nominal, cancel);

    /// <summary>
    /// Back to nominal after a measurement, whatever ended it: a cancellation does not stop it, and a failure to get
    /// there is reported (as a <see cref="MemoryBackendException"/>) only when <paramref name="anotherFailureLeaving"/>
    /// is false, so it never hides the failure that ended the measurement; a restart found on the way is then reported
    /// by the next request instead. Call it from a finally block.
    /// </summary>
    public void RestoreNominalAfterMeasuring(bool anotherFailureLeaving)
    {
        try
        {
            RestoreNominal(CancellationToken.None);
        }
        catch (Exception e) when (e is MemoryBackendException or BoardException)
        {
            if (anotherFailureLeaving)
            {
                // Not this caller's to report, but a wiped memory must not go unnoticed: the next request reports it.
                if (e.InnerException is BoardStateLostException { MemoryLost: true })
                    lock (_gate) _restartUnreported ??= "seen while returning it to nominal after a failed measurement";
                return;
            }
            throw e as MemoryBackendException ??
                  new MemoryBackendException($"could not return board {Board.Firmware} on {Port} to its nominal point ({e.Message}); its lease will, within {LeaseMs} ms", inner: e);
        }
    }

    /// <summary>
    /// The board's units for a point: the voltage must lie on the board's voltage step (counted from its floor)
    /// within [host floor, maximum]; tRCD and temperature must be on their steps and in range, or nominal on a board
    /// that does not control them. Throws <see cref="OperatingPointException"/> naming the limit.
    /// </summary>
    public BoardOperatingPoint ToBoardPoint(OperatingPoint point)
    {
        var b = Board;
        double mv = point.Voltage * 1000;
        ushort voltage = (ushort)OnStep(mv, b.VoltageFloorMv, b.VoltageStepMv, b.VoltageNominalMv, "V", "mV", point.Voltage, 0, ushort.MaxValue);
        if (voltage < VoltageFloorMv) throw new OperatingPointException(FloorRefusal(voltage));
        if (voltage > b.VoltageMaxMv) throw new OperatingPointException($"V={Invariant(point.Voltage)} is above the maximum of board {b.Firmware} on {Port}, {b.VoltageMaxMv} mV");

        ushort trcd = BoardOperatingPoint.NominalTrcd;
        if (point.TRcdNs is { } ns)
        {
            double units = ns * 100;
            if (!b.ControlsTrcd)
            {
                if (Math.Abs(units - b.TrcdNominal) > 1e-6)
                    throw new OperatingPointException($"board {b.Firmware} on {Port} does not control tRCD; drop tRCD={Invariant(ns)} from the operating point");
            }
            else
            {
                trcd = (ushort)OnStep(units, b.TrcdMin, b.TrcdStep, b.TrcdNominal, "tRCD", "x 10 ps", ns, 1, ushort.MaxValue);
                if (trcd < b.TrcdMin || trcd > b.TrcdMax)
                    throw new OperatingPointException($"tRCD={Invariant(ns)} ns is outside board {b.Firmware}'s range {b.TrcdMin / 100.0}..{b.TrcdMax / 100.0} ns");
            }
        }

        short temperature = BoardOperatingPoint.NominalTemperature;
        double deci = point.TemperatureC * 10;
        if (Math.Abs(deci - b.TemperatureNominal) > 1e-6)
        {
            if (!b.ControlsTemperature)
            {
                // OperatingPoint has no "unspecified" temperature: its default (room temperature) means "whatever the board runs at".
                if (point.TemperatureC != OperatingPoint.RoomTemperature)
                    throw new OperatingPointException($"board {b.Firmware} on {Port} does not control temperature (it runs at {b.TemperatureNominal / 10.0} C); drop T={Invariant(point.TemperatureC)} from the operating point");
            }
            else
            {
                int t = OnStep(deci, b.TemperatureMin, b.TemperatureStep, b.TemperatureNominal, "T", "x 0.1 C", point.TemperatureC, short.MinValue, short.MaxValue - 1);
                if (t < b.TemperatureMin || t > b.TemperatureMax)
                    throw new OperatingPointException($"T={Invariant(point.TemperatureC)} C is outside board {b.Firmware}'s range {b.TemperatureMin / 10.0}..{b.TemperatureMax / 10.0} C");
                temperature = (short)t;
            }
        }
        return new BoardOperatingPoint(voltage, trcd, temperature);
    }

    public Telemetry GetTelemetry(CancellationToken cancel = default)
    {
        _ = Board;
        lock (_gate)
        {
            ThrowIfStateLostUnreported(Command.GetTelemetry, "GET_TELEMETRY");
            // Observed in the same locked exchange: a lease renewal in between would otherwise be overwritten by older telemetry.
            var reply = Exchange(Command.GetTelemetry, [], "GET_TELEMETRY", TimeSpan.Zero, cancel, mayReconnect: true);
            ThrowIfError(reply, "GET_TELEMETRY");
            var telemetry = Telemetry.Parse(reply.Payload.Span);
            if (Observe(telemetry))
                throw StateLost(new BoardStateLostException($"board on {Port} restarted while the link stayed open (its uptime of {telemetry.UptimeMs} ms shows another boot than the one seen before): " +
                                                            "the contents of its memory were lost, so what was read from it since its last telemetry cannot be trusted; " +
                                                            "write the data again (Store, or FILL the pattern) and measure again", memoryLost: true));
            if (_pointLostUnreported is { } left)
            {
                _pointLostUnreported = null;
                throw StateLost(new BoardStateLostException($"{left}: what was read since that point was set may have been read at nominal; the point must be measured again", memoryLost: false));
            }
            return telemetry;
        }
    }

    /// <summary>
    /// Reads telemetry before the memory is written anew (a store, a pattern fill), so the client knows when the board
    /// booted and a later restart shows. A restart or a lost point found now is moot: what follows writes the memory and
    /// sets the point.
    /// </summary>
    public void LearnBootTime(CancellationToken cancel = default)
    {
        try
        {
            GetTelemetry(cancel);
        }
        catch (MemoryBackendException e) when (e.InnerException is BoardStateLostException)
        {
        }
    }

    /// <summary>Writes <paramref name="data"/> from byte <paramref name="address"/>, one WRITE per 4092 bytes (or what the board's max payload allows).</summary>
    public void Write(long address, ReadOnlySpan<byte> data, CancellationToken cancel = default)
    {
        CheckRange(address, data.Length, "WRITE");
        int chunk = Board.MaxPayload - 4;
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            int n = Math.Min(chunk, data.Length - offset);
            uint at = (uint)(address + offset);
            var reply = Expect(Command.Write, Requests.Write(at, data.Slice(offset, n)), $"WRITE of {n} bytes at byte {at}", cancel);
            if (!reply.IsEmpty) throw BoardProtocolException.WrongSize(Command.Write, reply.Length, "0");
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes from <paramref name="address"/> at the current point, one READ per 4096 bytes.</summary>
    public byte[] Read(long address, int length, CancellationToken cancel = default)
    {
        CheckRange(address, length, "READ");
        var data = new byte[length];
        int chunk = Board.MaxPayload;
        for (int offset = 0; offset < length; offset += chunk)
        {
            int n = Math.Min(chunk, length - offset);
            uint at = (uint)(address + offset);
            var reply = Expect(Command.Read, Requests.Read(at, n), $"READ of {n} bytes at byte {at}", cancel);
            if (reply.Length != n) throw BoardProtocolException.WrongSize(Command.Read, reply.Length, n.ToString(CultureInfo.InvariantCulture));
            reply.Span.CopyTo(data.AsSpan(offset));
        }
        return data;
    }

    /// <summary>Fills <paramref name="length"/> bytes from <paramref name="address"/> with a repeated 1..16-byte pattern.</summary>
    public void Fill(long address, long length, ReadOnlySpan<byte> pattern, CancellationToken cancel = default)
    {
        CheckRange(address, length, "FILL");
        var reply = Expect(Command.Fill, Requests.Fill((uint)address, (uint)length, pattern), $"FILL of {length} bytes at byte {address}", cancel, RangeAllowance(length));
        if (!reply.IsEmpty) throw BoardProtocolException.WrongSize(Command.Fill, reply.Length, "0");
    }

    /// <summary>Every bit address in the range that reads differently from the data last written (needs <see cref="BoardCapabilities.CompareWritten"/>).</summary>
    public long[] CompareWritten(long address, long length, CancellationToken cancel = default) =>
        Compare(address, length, [], cancel);

    /// <summary>
    /// Every bit address in the range that reads differently from <paramref name="pattern"/> repeated from
    /// <paramref name="address"/>, or from the data last written when the pattern is empty. Follows the board's
    /// partial replies (next/done) to the end of the range.
    /// </summary>
    public long[] Compare(long address, long length, ReadOnlySpan<byte> pattern, CancellationToken cancel = default)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, $"a COMPARE covers at least 1 byte; nothing to compare at byte {address}");
        CheckRange(address, length, "COMPARE");
        var bits = new List<long>();
        long end = address + length;
        long at = address;
        while (true)
        {
            // A pattern compared from a later start must stay aligned with the original start.
            var shifted = pattern.IsEmpty ? [] : Rotate(pattern, (int)((at - address) % pattern.Length));
            uint left = (uint)(end - at);
            var payload = pattern.IsEmpty ? Requests.CompareWritten((uint)at, left) : Requests.ComparePattern((uint)at, left, shifted);
            var reply = CompareReply.Parse(Expect(Command.Compare, payload, $"COMPARE of {left} bytes at byte {at}", cancel, RangeAllowance(left)).Span, (uint)at);
            if (reply.Count > 0 && reply.Bits[^1] >= 8L * reply.Next)
                throw new BoardProtocolException($"COMPARE reply lists bit {reply.Bits[^1]}, beyond where it says the comparison stopped (byte {reply.Next})");
            bits.AddRange(reply.Bits);
            if (reply.Done)
            {
                if (reply.Next != end) throw new BoardProtocolException($"COMPARE reply says done at byte {reply.Next}, but the range ends at byte {end}");
                return bits.ToArray();
            }
            if (reply.Next <= at || reply.Next > end)
                throw new BoardProtocolException($"COMPARE reply is not done but its next byte {reply.Next} does not move forward inside {at}..{end}");
            at = reply.Next;
        }
    }

    /// <summary>Asks for a lease of <paramref name="leaseMs"/> (100..600000); returns the lease granted.</summary>
    public uint Lease(uint leaseMs, CancellationToken cancel = default)
    {
        var reply = Expect(Command.Lease, Requests.Lease(leaseMs), $"LEASE {leaseMs} ms", cancel);
        if (reply.Length != 4) throw BoardProtocolException.WrongSize(Command.Lease, reply.Length, "4");
        _leaseMs = BinaryPrimitives.ReadUInt32LittleEndian(reply.Span);
        return _leaseMs;
    }

    /// <summary>
    /// Nominal point, the board's default lease, empty reply cache; the memory keeps its content. The default lease
    /// is the board's own (PROTOCOL.md §3.4), so a HELLO follows to learn it.
    /// </summary>
    public void Reset(CancellationToken cancel = default)
    {
        var reply = Expect(Command.Reset, [], "RESET", cancel);
        if (!reply.IsEmpty) throw BoardProtocolException.WrongSize(Command.Reset, reply.Length, "0");
        _awayFromNominal = false;
        AppliedPoint = null;
        Hello(cancel);
    }

    /// <summary>
    /// Sends one request as given and returns the board's reply whatever its status, with the usual resends and
    /// reconnect. For diagnostics and tests; it bypasses every host-side check (the voltage floor included).
    /// </summary>
    public Frame Send(Command command, ReadOnlySpan<byte> payload, CancellationToken cancel = default)
    {
        lock (_gate) return Exchange(command, payload, ProtocolNames.Of(command), TimeSpan.FromMilliseconds(_board?.SettleMs ?? 0), cancel, mayReconnect: true);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping.Set();
        lock (_gate) _transport.Dispose();
        _leaseKeeper?.Join(TimeSpan.FromSeconds(1));
    }

    private BoardDescription HelloLocked(CancellationToken cancel, bool mayReconnect)
    {
        var reply = Exchange(Command.Hello, Requests.Hello(HostMinVersion, HostMaxVersion), "HELLO", TimeSpan.Zero, cancel, mayReconnect);
        if (reply.Status == Status.BadVersion && reply.Payload.Length == 2)
            throw new BoardStatusException($"board on {Port} speaks protocol versions {reply.Payload.Span[0]}..{reply.Payload.Span[1]}, this host {HostMinVersion}..{HostMaxVersion}: " +
                                           "update HilBench or the firmware so they share a version", Command.Hello, reply.Status, reply.RequestId);
        ThrowIfError(reply, "HELLO");
        var board = BoardDescription.Parse(reply.Payload.Span);
        if (board.Version is < HostMinVersion or > HostMaxVersion)
            throw new BoardProtocolException($"board on {Port} chose protocol version {board.Version}, outside the {HostMinVersion}..{HostMaxVersion} this host offered");
        _board = board;
        _leaseMs = board.LeaseMs;
        return board;
    }

    /// <summary>One request whose reply must be OK; returns its payload.</summary>
    private ReadOnlyMemory<byte> Expect(Command command, ReadOnlySpan<byte> payload, string what, CancellationToken cancel, TimeSpan extraTimeout = default)
    {
        _ = Board;
        Frame reply;
        lock (_gate)
        {
            ThrowIfStateLostUnreported(command, what);
            reply = Exchange(command, payload, what, extraTimeout, cancel, mayReconnect: true);
        }
        ThrowIfError(reply, what);
        return reply.Payload;
    }

    /// <summary>Sends a request and waits for its reply, resending and reconnecting as PROTOCOL.md §4 allows. Caller holds the gate.</summary>
    private Frame Exchange(Command command, ReadOnlySpan<byte> payload, string what, TimeSpan extraTimeout, CancellationToken cancel, bool mayReconnect)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancel.ThrowIfCancellationRequested();
        _requests++;
        long quietSince = _lastReplyTicks;
        var first = Attempt(command, payload, extraTimeout, cancel);
        if (first.Reply is { } reply)
        {
            // Resends that outlasted the lease may have reached a board that went back to nominal meanwhile: a READ or
            // COMPARE answered then was measured at nominal, not at the point the host set.
            if (command is Command.Compare or Command.Read && first.Attempts > 1 && _awayFromNominal && _lastReplyTicks - quietSince >= _leaseMs)
            {
                try
                {
                    CheckBoardKeptItsState(command, what, alreadyRun: true, "GET_TELEMETRY after resends that outlasted the lease", cancel);
                }
                catch (BoardStateLostException e)
                {
                    throw StateLost(e);
                }
            }
            return reply;
        }
        if (!mayReconnect || !Options.Reconnect) throw Lost(command, first, null);

        _reconnects++;
        string reopened;
        try
        {
            _transport.Reopen();
            _decoder.Clear();
            HelloLocked(cancel, mayReconnect: false);
            CheckBoardKeptItsState(command, what, alreadyRun: false, "GET_TELEMETRY after reconnecting", cancel);
            var second = Attempt(command, payload, extraTimeout, cancel);
            if (second.Reply is { } again) return again;
            reopened = $"after reopening the port and HELLO, request {second.RequestId} failed the same way ({second.Failure})";
        }
        catch (IOException e)
        {
            reopened = $"reopening the port failed: {e.Message}";
        }
        catch (MemoryBackendException e)
        {
            reopened = $"after reopening the port: {e.Message}";
        }
        catch (BoardStateLostException e)
        {
            throw StateLost(e);
        }
        throw Lost(command, first, reopened);
    }

    /// <summary>
    /// After a reconnect, before the request is sent again: GET_TELEMETRY must show the board as the host left it.
    /// A board that restarted (memory wiped) would run any request on lost data, so it is not sent; the client's state
    /// is updated to the board's and <see cref="BoardStateLostException"/> says what to redo. A board that went back
    /// to nominal (its lease ran out while the link was down) stops only a request whose result depends on the point
    /// (<see cref="DependsOnPoint"/>): a SET_OP or RESET is sent, as it sets the point anew, and any other request
    /// too, the loss then being reported by the next request that depends on the point. Also after resends that
    /// outlasted the lease (<paramref name="alreadyRun"/>): then the request's reply is discarded. Caller holds the gate.
    /// </summary>
    private void CheckBoardKeptItsState(Command command, string what, bool alreadyRun, string check, CancellationToken cancel)
    {
        var outcome = Attempt(Command.GetTelemetry, [], TimeSpan.Zero, cancel);
        if (outcome.Reply is not { } reply) throw Lost(Command.GetTelemetry, outcome, null);
        ThrowIfError(reply, check);
        var telemetry = Telemetry.Parse(reply.Payload.Span);
        LastTelemetry = telemetry;
        bool restarted = ObserveUptime(telemetry.UptimeMs, Environment.TickCount64);
        // Telemetry carries no temperature set point: a point away from nominal only in temperature is checked by voltage and tRCD alone.
        var set = AppliedPoint;
        bool pointLost = LeftTheSetPoint(telemetry);
        if (!restarted && !pointLost) return;

        TakeBoardsPoint(telemetry);
        string lost = $"board on {Port} lost its operating point while the link was down (the host had set {set}, the board is at {telemetry.SetVoltageMv} mV; " +
                      $"its lease of {_leaseMs} ms probably ran out)";
        if (!restarted && !DependsOnPoint(command))
        {
            // The board is where a SET_OP or RESET takes it from anyway; another request runs as well at nominal, but
            // the next one that depends on the point must not run there as if the point had been kept.
            _pointLostUnreported = SetsPoint(command) ? null : lost;
            return;
        }
        string request = alreadyRun ? $"the reply to {what} was discarded" : $"{what} was not repeated";
        if (restarted)
        {
            _restartUnreported = _pointLostUnreported = null; // reported now
            throw new BoardStateLostException($"board on {Port} restarted while the link was down (uptime {telemetry.UptimeMs} ms): the contents of its memory were lost, " +
                                              $"so {request}; write the data again (Store, or FILL the pattern) and measure again", memoryLost: true);
        }
        _pointLostUnreported = null;
        throw new BoardStateLostException($"{lost}, so {request}; the point must be measured again", memoryLost: false);
    }

    private readonly record struct Outcome(Frame? Reply, ushort RequestId, int Attempts, string Failure);

    /// <summary>Up to 1 + Retries sends of one request under one id; a null reply means the link gave no usable answer.</summary>
    private Outcome Attempt(Command command, ReadOnlySpan<byte> payload, TimeSpan extraTimeout, CancellationToken cancel)
    {
        ushort id = _lastId = _lastId == ushort.MaxValue ? (ushort)1 : (ushort)(_lastId + 1);
        int length = FrameEncoder.Encode(Frame.Request(id, command, payload.ToArray()), _wire);
        var timeout = Options.ReplyTimeout + extraTimeout + _transport.TransferTime(length + FrameEncoder.MaxWireLength);
        string failure = "";
        int attempt = 0;
        bool refusedLength = false;
        while (attempt <= Options.Retries)
        {
            if (attempt++ > 0)
            {
                _retries++;
                cancel.ThrowIfCancellationRequested();
            }
            try
            {
                _transport.Write(_wire.AsSpan(0, length));
                _bytesSent += length;
                _framesSent++;
                _lastSentTicks = Environment.TickCount64;
                var (reply, damaged) = AwaitReply(id, command, timeout);
                if (reply is null)
                {
                    if (damaged)
                    {
                        failure = "the reply arrived damaged";
                        Thread.Sleep(Options.Backoff);
                    }
                    else
                    {
                        _timeouts++;
                        failure = $"no reply within {timeout.TotalMilliseconds:0} ms";
                    }
                    continue;
                }
                // A length field damaged on the way is refused once; refused again, the payload's size is wrong for the
                // command, which no resend changes: the caller reports it.
                if (reply.Status == Status.BadLength && refusedLength) return new Outcome(reply, id, attempt, "");
                refusedLength |= reply.Status == Status.BadLength;
                if (reply.Status is Status.Busy or Status.BadCrc or Status.BadLength)
                {
                    failure = $"the board answered {ProtocolNames.Of(reply.Status)}";
                    Thread.Sleep(Options.Backoff * attempt);
                    continue;
                }
                _lastReplyTicks = Environment.TickCount64;
                return new Outcome(reply, id, attempt, "");
            }
            catch (IOException e)
            {
                // A port that is gone stays gone for the remaining attempts; go straight to reopening it.
                return new Outcome(null, id, attempt, e.Message);
            }
        }
        return new Outcome(null, id, attempt, failure);
    }

    /// <summary>
    /// Reads until the reply to (<paramref name="id"/>, <paramref name="command"/>) arrives or the time is up.
    /// Replies to other requests (late answers to earlier attempts) are discarded; a damaged frame that looks like
    /// our reply ends the wait early, since the board will not send another one unasked.
    /// </summary>
    private (Frame? Reply, bool Damaged) AwaitReply(ushort id, Command command, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        while (true)
        {
            while (_decoder.TryTake(out var decoded))
            {
                var f = decoded.Frame;
                if (!decoded.IsOk)
                {
                    _damaged++;
                    if (f.IsReply && f.RequestId == id && f.Command == command) return (null, true);
                    continue;
                }
                if (!f.IsReply)
                {
                    _stale++;
                    continue;
                }
                // Id 0: the board got a request whose CRC failed, so it could not trust the id (PROTOCOL.md §1); ours, since one is in flight: resend.
                bool garbledRequest = f.RequestId == 0 && f.Status == Status.BadCrc;
                if (!garbledRequest && (f.RequestId != id || f.Command != command))
                {
                    _stale++;
                    continue;
                }
                if (f.Version != Frame.ProtocolVersion)
                    throw new BoardProtocolException($"board on {Port} replied to {ProtocolNames.Of(command)} in protocol version {f.Version}, not {Frame.ProtocolVersion}");
                return (f, false);
            }
            long left = deadline - Environment.TickCount64;
            if (left <= 0) return (null, false);
            int n = _transport.Read(_readBuffer, TimeSpan.FromMilliseconds(left));
            if (n > 0)
            {
                _bytesReceived += n;
                _decoder.Feed(_readBuffer.AsSpan(0, n));
            }
        }
    }

    private MemoryBackendException Lost(Command command, Outcome outcome, string? reopened)
    {
        string program = _board?.Firmware.Split(' ')[0] ?? "hilboard-emu";
        string message = $"board on {Port} did not answer {ProtocolNames.Of(command)} (request {outcome.RequestId}) after {outcome.Attempts} attempt{(outcome.Attempts == 1 ? "" : "s")} " +
                         $"({outcome.Failure}){(reopened is null ? "" : "; " + reopened)}; check the cable/port, or that {program} is running";
        return new MemoryBackendException(message, retryable: true);
    }

    private void ThrowIfError(Frame reply, string what)
    {
        if (reply.Status == Status.Ok) return;
        string status = ProtocolNames.Of(reply.Status);
        string why = reply.Status switch
        {
            Status.VoltageFloor => _board is { } b ? $"below its voltage floor of {b.VoltageFloorMv} mV" : "below its voltage floor",
            Status.AddressRange => _board is { } b ? $"the range is outside its memory of {b.TotalBytes} bytes" : "the range is outside its memory",
            Status.BadArgument => "a value is out of range or not on its step, or a pattern length or reference is bad",
            Status.UnknownCommand => "the firmware does not implement this command",
            Status.BadVersion => "it does not speak this protocol version",
            Status.Internal => "the board failed while executing it",
            Status.BadLength => "the payload's size is wrong for the command (refused again when sent again, so not a frame damaged on the way); " +
                                "this firmware expects another request layout: use a HilBench and a firmware of the same protocol",
            _ => "an unknown status",
        };
        throw new BoardStatusException($"board on {Port} refused {what} (request {reply.RequestId}): {status}, {why}", reply.Command, reply.Status, reply.RequestId);
    }

    private string FloorRefusal(int voltageMv)
    {
        var b = Board;
        string host = Options.VoltageFloorMv is { } h ? $"the host floor is {h} mV" : "no host floor is set";
        return $"refusing SET_OP {voltageMv} mV on {Port}: below the voltage floor of {VoltageFloorMv} mV (board {b.Firmware}'s floor is {b.VoltageFloorMv} mV, {host})";
    }

    private bool IsNominal(BoardOperatingPoint p)
    {
        var b = Board;
        return p.VoltageMv == b.VoltageNominalMv &&
               (p.TrcdTenPs == BoardOperatingPoint.NominalTrcd || p.TrcdTenPs == b.TrcdNominal) &&
               (p.TemperatureDeciC == BoardOperatingPoint.NominalTemperature || p.TemperatureDeciC == b.TemperatureNominal);
    }

    /// <summary>
    /// Takes in telemetry (the caller holds the gate); true when it shows a restart, after which the client knows the board's point.
    /// A board that left the point the host set on its own (its lease ran out) is remembered for the next request that depends on
    /// the point, which reports it.
    /// </summary>
    private bool Observe(Telemetry telemetry)
    {
        LastTelemetry = telemetry;
        if (ObserveUptime(telemetry.UptimeMs, Environment.TickCount64))
        {
            TakeBoardsPoint(telemetry);
            return true;
        }
        if (LeftTheSetPoint(telemetry))
        {
            _pointLostUnreported = $"board on {Port} left the point the host had set ({AppliedPoint}) on its own and is at {telemetry.SetVoltageMv} mV " +
                                   $"(its lease of {_leaseMs} ms ran out)";
            TakeBoardsPoint(telemetry);
        }
        return false;
    }

    /// <summary>Whether the board is no longer at the point the host put it away from nominal at (telemetry has no temperature set point).</summary>
    private bool LeftTheSetPoint(Telemetry telemetry) =>
        _awayFromNominal && AppliedPoint is { } p &&
        (telemetry.SetVoltageMv != p.VoltageMv || ResolvedTrcd(telemetry.TrcdTenPs) != ResolvedTrcd(p.TrcdTenPs));

    /// <summary>After the board lost the point the host set (an expiry, a restart): the client's state becomes the board's.</summary>
    private void TakeBoardsPoint(Telemetry telemetry)
    {
        // An expiry and a restart both restore the nominal temperature.
        var now = new BoardOperatingPoint(telemetry.SetVoltageMv, telemetry.TrcdTenPs);
        AppliedPoint = now;
        _awayFromNominal = !IsNominal(now);
    }

    /// <summary>
    /// A restart seen where no caller was told is reported by the next request, which is not sent; a lost point by
    /// the next request that depends on it (a SET_OP or RESET makes it moot). Caller holds the gate.
    /// </summary>
    private void ThrowIfStateLostUnreported(Command command, string what)
    {
        if (_restartUnreported is { } seen)
        {
            _restartUnreported = _pointLostUnreported = null;
            throw StateLost(new BoardStateLostException($"board on {Port} restarted ({seen}): the contents of its memory were lost, so {what} was not sent; " +
                                                        "write the data again (Store, or FILL the pattern) and measure again", memoryLost: true));
        }
        if (_pointLostUnreported is not { } lost) return;
        if (SetsPoint(command)) _pointLostUnreported = null;
        if (!DependsOnPoint(command)) return;
        _pointLostUnreported = null;
        throw StateLost(new BoardStateLostException($"{lost}, so {what} was not sent; the point must be measured again", memoryLost: false));
    }

    /// <summary>Requests whose result depends on the operating point: run at another point they answer something else.</summary>
    private static bool DependsOnPoint(Command command) => command is Command.Read or Command.Compare or Command.GetTelemetry;

    /// <summary>Requests that set the operating point, so that a point the board lost no longer matters.</summary>
    private static bool SetsPoint(Command command) => command is Command.SetOp or Command.Reset;

    /// <summary>The board lost state the host relied on: a retryable failure, with what was lost inside.</summary>
    private static MemoryBackendException StateLost(BoardStateLostException e) => new(e.Message, retryable: true, e);

    /// <summary>
    /// Remembers when the board booted, in host ticks (<paramref name="now"/> minus the uptime), and says whether
    /// this uptime shows another boot than the one remembered: a restart. The u32 uptime wraps every 49.7 days, so
    /// the wrap count taken is the largest whose boot is not before the remembered one (less the tolerance); a boot
    /// that still differs from the remembered one by more than the tolerance, later or earlier, is another boot.
    /// The two clocks differ by the link's latency and their drift, hence a tolerance of 1 s plus 0.1 % of the time
    /// since the last estimate.
    /// </summary>
    internal bool ObserveUptime(uint uptimeMs, long now)
    {
        const long Wrap = 1L << 32;
        long boot = now - uptimeMs;
        bool restarted = false;
        if (_bootTicks is { } known)
        {
            long tolerance = 1000 + (now - _bootSeenTicks) / 1000;
            // Every wrap moves the boot 49.7 days earlier: as many as keep it at or after the remembered one.
            long wraps = Math.Max(0, (boot - (known - tolerance)) / Wrap);
            boot -= wraps * Wrap;
            restarted = Math.Abs(boot - known) > tolerance;
        }
        _bootTicks = boot;
        _bootSeenTicks = now;
        return restarted;
    }

    private ushort ResolvedTrcd(ushort trcd) => trcd == BoardOperatingPoint.NominalTrcd ? Board.TrcdNominal : trcd;

    private void CheckRange(long address, long length, string command)
    {
        if (address < 0 || length < 0 || length > uint.MaxValue || address + length > 1L << 32)
            throw new ArgumentOutOfRangeException(nameof(address), $"{command} of {length} bytes at byte {address} is beyond the protocol's 32-bit byte addresses");
        _ = Board;
    }

    private TimeSpan RangeAllowance(long bytes) => Options.RangeAllowancePerMiB * (bytes / (double)(1 << 20));

    private static byte[] Rotate(ReadOnlySpan<byte> pattern, int by)
    {
        var r = new byte[pattern.Length];
        for (int i = 0; i < r.Length; i++) r[i] = pattern[(i + by) % pattern.Length];
        return r;
    }

    /// <summary>The integer on <paramref name="step"/> from <paramref name="origin"/> that <paramref name="value"/> is, allowing for the rounding of a decimal written in other units.</summary>
    private int OnStep(double value, int origin, int step, int nominal, string field, string unit, double given, int min, int max)
    {
        double nearest = step == 0 ? nominal : origin + Math.Round((value - origin) / step) * step;
        if (!double.IsFinite(value) || Math.Abs(value - nearest) > 1e-6 * Math.Max(1, Math.Abs(value)))
        {
            string alternatives = step == 0 ? $"the board only runs at {nominal} {unit}" :
                $"the nearest are {origin + Math.Floor((value - origin) / step) * step} and {origin + Math.Ceiling((value - origin) / step) * step} {unit}";
            throw new OperatingPointException($"{field}={Invariant(given)} is not on the {step} {unit} step of board {Board.Firmware} on {Port}; {alternatives}");
        }
        if (nearest < min || nearest > max)
            throw new OperatingPointException($"{field}={Invariant(given)} is outside what the protocol carries");
        return (int)nearest;
    }

    private static string Invariant(double v) => v.ToString("G15", CultureInfo.InvariantCulture);

    /// <summary>The lease keeper: renews the lease when the link has been idle for a third of it while the board is below nominal.</summary>
    private void KeepLease()
    {
        // Poll often enough for the shortest lease; the lease can shrink (LEASE, HELLO) while the keeper waits.
        while (!_stopping.Wait(_board is null ? 100 : (int)Math.Clamp(_leaseMs / 6, 10, 100)))
        {
            if (!_awayFromNominal || _board is null) continue;
            if (Environment.TickCount64 - Volatile.Read(ref _lastSentTicks) < _leaseMs / 3) continue;
            // A request in flight renews the lease itself; do not queue behind it.
            if (!_gate.TryEnter()) continue;
            try
            {
                if (_disposed) return;
                var reply = Exchange(Command.GetTelemetry, [], "GET_TELEMETRY", TimeSpan.Zero, CancellationToken.None, mayReconnect: false);
                ThrowIfError(reply, "GET_TELEMETRY (lease renewal)");
                var telemetry = Telemetry.Parse(reply.Payload.Span);
                if (Observe(telemetry))
                    _restartUnreported = $"a lease renewal found an uptime of {telemetry.UptimeMs} ms, another boot than the one seen before";
                _renewals++;
                LeaseKeeperError = null;
            }
            catch (Exception e) when (e is MemoryBackendException or BoardException or IOException or ObjectDisposedException)
            {
                LeaseKeeperError = e;
            }
            finally
            {
                _gate.Exit();
            }
        }
    }
}
