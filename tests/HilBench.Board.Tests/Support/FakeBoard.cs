using System.Buffers.Binary;
using System.IO.Pipelines;
using HilBench.Board.Protocol;
using HilBench.Board.Transport;
using HilBench.Memory.Geometry;

namespace HilBench.Board.Tests.Support;

/// <summary>
/// The board side of PROTOCOL.md in C#, small enough to read in one go, served on a thread over an in-memory
/// stream pair. It keeps a reply cache, a lease, weak cells that read their stuck value below a critical voltage,
/// and faults the tests switch on: damaged, dropped, truncated, late or stale replies, garbage, BUSY, silence,
/// damaged requests, refusals, an unplugged cable and a restart that wipes the memory.
/// </summary>
internal sealed class FakeBoard : IDisposable
{
    public const string Port = "/dev/fake-board";

    private readonly object _gate = new();
    private readonly Random _random = new(7);
    private readonly Dictionary<long, (int CriticalMv, bool Stuck)> _weak = [];
    private readonly List<(ushort Id, Command Command)> _received = [];
    private readonly List<(ushort Id, Command Command)> _executed = [];
    private readonly List<ushort> _voltages = [];
    private readonly Timer _leaseClock;
    private Connection? _connection;
    private (ushort Id, Command Command, byte[] Wire)? _cache;
    private readonly uint _defaultLeaseMs;
    private long _leaseDeadline;
    private long _bootTicks = Environment.TickCount64 - 60_000; // up for a minute when a test starts
    private bool _disposed;

    public FakeBoard(MemoryGeometry? geometry = null, BoardCapabilities capabilities = BoardCapabilities.Temperature | BoardCapabilities.Current | BoardCapabilities.CompareWritten | BoardCapabilities.Emulated,
        uint leaseMs = 5000, ushort settleMs = 2)
    {
        var g = geometry ?? new MemoryGeometry(8, 64, 32);
        Description = new BoardDescription
        {
            Version = 1, MinVersion = 1, MaxPayload = 4096, Capabilities = capabilities,
            Blocks = (uint)g.Blocks, RowsPerBlock = (uint)g.RowsPerBlock, BitsPerRow = (uint)g.BitsPerRow, WordBits = (ushort)g.WordBits,
            VoltageNominalMv = 1000, VoltageFloorMv = 500, VoltageMaxMv = 1000, VoltageStepMv = 5,
            TrcdNominal = 0, TrcdMin = 0, TrcdMax = 0, TrcdStep = 0,
            TemperatureNominal = 250, TemperatureMin = 0, TemperatureMax = 850, TemperatureStep = 50,
            SettleMs = settleMs, LeaseMs = leaseMs, Firmware = "fake-board 0.1",
        };
        Memory = new byte[Description.TotalBytes];
        Written = new byte[Description.TotalBytes];
        VoltageMv = 1000;
        LeaseMs = _defaultLeaseMs = leaseMs;
        _leaseDeadline = Environment.TickCount64 + leaseMs;
        _leaseClock = new Timer(_ => CheckLease(), null, 5, 5);
    }

    public BoardDescription Description { get; }

    /// <summary>The cells as stored; a read below a weak cell's critical voltage sees its stuck value instead.</summary>
    public byte[] Memory { get; }

    /// <summary>The data last written (WRITE, FILL): COMPARE's reference 0.</summary>
    public byte[] Written { get; }

    public ushort VoltageMv { get; private set; }

    public short TemperatureDeciC { get; private set; } = BoardOperatingPoint.NominalTemperature;

    public uint LeaseMs { get; private set; }

    public bool LeaseExpired { get; private set; }

    // Faults, each for the next N replies (counted down as they are used).
    public int DropReplies { get; set; }
    public int FlipBitInReplies { get; set; }
    public int GarbageBeforeReplies { get; set; }
    public int TruncateReplies { get; set; }
    public int StaleBeforeReplies { get; set; }
    public int BusyReplies { get; set; }

    /// <summary>Requests that arrive damaged (a flipped bit in the request id, so the CRC fails).</summary>
    public int DamageRequests { get; set; }

    /// <summary>Delay before every reply (a slow board: late replies arrive after the host's timeout).</summary>
    public TimeSpan ReplyDelay { get; set; }

    /// <summary>Refuses the next <see cref="RefuseTimes"/> requests of this command with this status (without executing them), then is cleared.</summary>
    public (Command Command, Status Status)? Refuse { get; set; }

    public int RefuseTimes { get; set; } = 1;

    /// <summary>The protocol versions the board speaks (a future board may speak only later ones).</summary>
    public (byte Lowest, byte Highest) Versions { get; set; } = (1, 1);

    /// <summary>Receives and executes but never answers.</summary>
    public bool Silent { get; set; }

    /// <summary>The cable is out: nothing gets through either way until the host reopens the port (plugs it back in).</summary>
    public bool Unplugged { get; set; }

    /// <summary>Unplugs the cable for a while, then plugs it back in without the host reopening anything.</summary>
    public void UnplugFor(TimeSpan time)
    {
        Unplugged = true;
        _ = Task.Delay(time).ContinueWith(_ => Unplugged = false, TaskScheduler.Default);
    }

    /// <summary>Called with each well-formed request's command before the board refuses or executes it (the board's lock is held).</summary>
    public Action<Command>? Executing { get; set; }

    /// <summary>The largest COMPARE reply payload; small values force the host to follow next/done.</summary>
    public int CompareReplyLimit { get; set; } = 4096;

    /// <summary>Every well-formed request as it arrived, resends included.</summary>
    public IReadOnlyList<(ushort Id, Command Command)> Received
    {
        get
        {
            lock (_gate) return _received.ToArray();
        }
    }

    /// <summary>Requests executed (not answered from the reply cache).</summary>
    public IReadOnlyList<(ushort Id, Command Command)> Executed
    {
        get
        {
            lock (_gate) return _executed.ToArray();
        }
    }

    public int ExecutedCount(Command command) => Executed.Count(e => e.Command == command);

    /// <summary>The voltage of every SET_OP executed, in order.</summary>
    public IReadOnlyList<ushort> Voltages
    {
        get
        {
            lock (_gate) return _voltages.ToArray();
        }
    }

    public void AddWeakCell(long cell, int criticalMv, bool stuck)
    {
        lock (_gate) _weak[cell] = (criticalMv, stuck);
    }

    /// <summary>Cells that read wrong at <paramref name="voltageMv"/> given <see cref="Written"/>: the ground truth.</summary>
    public long[] FailingCells(int voltageMv)
    {
        lock (_gate)
            return _weak.Where(w => w.Value.CriticalMv > voltageMv && Bit(Written, w.Key) != w.Value.Stuck).Select(w => w.Key).Order().ToArray();
    }

    /// <summary>A host-side link to this board; reopening it makes a fresh connection (a replugged cable).</summary>
    public StreamTransport Connect() => new(Attach(out var output), output, Port, () =>
    {
        var input = Attach(out var o);
        return (input, o);
    });

    /// <summary>Cuts the current connection, as an unplugged cable does.</summary>
    public void DropLink()
    {
        lock (_gate) _connection?.Close();
    }

    /// <summary>
    /// A power cycle: the memory is wiped, the point, lease and reply cache are as after power-up and the uptime starts
    /// again. The connection drops, unless <paramref name="dropLink"/> is false: a board behind its own USB-UART bridge
    /// (a watchdog or brown-out reset) restarts with the port left open.
    /// </summary>
    public void Restart(bool dropLink = true)
    {
        lock (_gate)
        {
            if (dropLink) _connection?.Close();
            Array.Clear(Memory);
            Array.Clear(Written);
            VoltageMv = Description.VoltageNominalMv;
            TemperatureDeciC = BoardOperatingPoint.NominalTemperature;
            LeaseMs = _defaultLeaseMs;
            LeaseExpired = false;
            _cache = null;
            _bootTicks = Environment.TickCount64;
            _leaseDeadline = _bootTicks + LeaseMs;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _connection?.Close();
        }
        _leaseClock.Dispose();
    }

    private Stream Attach(out Stream hostOutput)
    {
        var connection = new Connection();
        lock (_gate)
        {
            _connection?.Close();
            _connection = connection;
            Unplugged = false;
        }
        new Thread(() => Serve(connection)) { IsBackground = true, Name = "fake board" }.Start();
        hostOutput = connection.ToBoard.Writer.AsStream();
        return connection.ToHost.Reader.AsStream();
    }

    private sealed class Connection
    {
        // Inline schedulers: the board and the host's reader are plain threads, and nothing here should wait for the thread pool.
        private static readonly PipeOptions Options = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);

        public Pipe ToBoard { get; } = new(Options);
        public Pipe ToHost { get; } = new(Options);
        public Stream Output { get; }

        public Connection() => Output = ToHost.Writer.AsStream();

        public void Close()
        {
            ToHost.Writer.Complete();
            ToBoard.Writer.Complete();
        }
    }

    private void Serve(Connection connection)
    {
        var input = connection.ToBoard.Reader.AsStream();
        var decoder = new FrameDecoder();
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                int n = input.Read(buffer, 0, buffer.Length);
                if (n == 0) return;
                if (Unplugged) continue;
                foreach (var received in decoder.FeedAndTake(buffer.AsSpan(0, n)))
                {
                    var d = received;
                    if (d.Frame.IsReply) continue;
                    if (DamageRequests > 0 && d.IsOk)
                    {
                        // A bit of the request id flipped on the way, so the CRC fails.
                        DamageRequests--;
                        d = new DecodedFrame(FrameCheck.BadCrc, d.Frame with { RequestId = (ushort)(d.Frame.RequestId ^ 0x0400) });
                    }
                    byte[]? reply = Handle(d);
                    if (reply is not null) Send(connection, reply);
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }

    private byte[]? Handle(DecodedFrame d)
    {
        var f = d.Frame;
        lock (_gate)
        {
            if (_disposed) return null;
            CheckLease(); // a lease that ran out while nobody looked ends before this request is looked at
            if (d.Check == FrameCheck.BadCrc) return Encode(0, f.Command, Status.BadCrc); // the damaged header's id is not trusted
            if (d.Check == FrameCheck.BadLength) return Encode(f.RequestId, f.Command, Status.BadLength);
            _received.Add((f.RequestId, f.Command));
            if (f.Version != 1) return Encode(f.RequestId, f.Command, Status.BadVersion, [1, 1]);
            // Any request that passes the frame checks renews the lease, even one the board then refuses.
            _leaseDeadline = Environment.TickCount64 + LeaseMs;
            if (BusyReplies > 0)
            {
                BusyReplies--;
                return Encode(f.RequestId, f.Command, Status.Busy);
            }
            Executing?.Invoke(f.Command);
            if (_cache is { } c && c.Id == f.RequestId && c.Command == f.Command) return c.Wire;
            var (status, payload) = (Status.Ok, Array.Empty<byte>());
            if (Refuse is { } refuse && refuse.Command == f.Command)
            {
                if (--RefuseTimes <= 0) (Refuse, RefuseTimes) = (null, 1);
                status = refuse.Status;
            }
            else (status, payload) = Execute(f.Command, f.Payload.Span);
            var wire = Encode(f.RequestId, f.Command, status, payload);
            if (status is not (Status.BadCrc or Status.BadLength or Status.BadVersion or Status.Busy))
            {
                _executed.Add((f.RequestId, f.Command));
                _cache = (f.RequestId, f.Command, wire);
            }
            return wire;
        }
    }

    private (Status, byte[]) Execute(Command command, ReadOnlySpan<byte> p)
    {
        (Status, byte[]) Ok(byte[]? payload = null) => (Status.Ok, payload ?? []);
        (Status, byte[]) Fail(Status s) => (s, []);
        switch (command)
        {
            case Command.Hello:
                if (p.Length != 2) return Fail(Status.BadLength);
                if (p[0] > Versions.Highest || p[1] < Versions.Lowest) return (Status.BadVersion, [Versions.Lowest, Versions.Highest]);
                LeaseExpired = false;
                return Ok((Description with { LeaseMs = LeaseMs }).ToPayload());
            case Command.SetOp:
            {
                if (p.Length != 6) return Fail(Status.BadLength);
                var point = BoardOperatingPoint.Parse(p);
                if (point.VoltageMv < Description.VoltageFloorMv) return Fail(Status.VoltageFloor);
                if (point.VoltageMv > Description.VoltageMaxMv || point.VoltageMv % Description.VoltageStepMv != 0) return Fail(Status.BadArgument);
                if (point.TrcdTenPs != 0) return Fail(Status.BadArgument);
                short t = point.TemperatureDeciC;
                if (t != BoardOperatingPoint.NominalTemperature && (t < Description.TemperatureMin || t > Description.TemperatureMax || t % Description.TemperatureStep != 0))
                    return Fail(Status.BadArgument);
                VoltageMv = point.VoltageMv;
                TemperatureDeciC = t;
                _voltages.Add(point.VoltageMv);
                Thread.Sleep(Description.SettleMs);
                return Ok(point.ToPayload());
            }
            case Command.GetTelemetry:
            {
                if (p.Length != 0) return Fail(Status.BadLength);
                long left = Math.Max(0, _leaseDeadline - Environment.TickCount64);
                short temperature = TemperatureDeciC == BoardOperatingPoint.NominalTemperature ? Description.TemperatureNominal : TemperatureDeciC;
                return Ok(new Telemetry(VoltageMv, (ushort)(VoltageMv - 1), 12345, temperature, 0, (uint)(Environment.TickCount64 - _bootTicks), (uint)left, LeaseExpired ? (byte)1 : (byte)0).ToPayload());
            }
            case Command.Write:
            {
                if (p.Length < 5 || p.Length > 4096) return Fail(Status.BadLength);
                long address = BinaryPrimitives.ReadUInt32LittleEndian(p);
                var data = p[4..];
                if (address + data.Length > Memory.Length) return Fail(Status.AddressRange);
                data.CopyTo(Memory.AsSpan((int)address));
                data.CopyTo(Written.AsSpan((int)address));
                return Ok();
            }
            case Command.Read:
            {
                if (p.Length != 6) return Fail(Status.BadLength);
                long address = BinaryPrimitives.ReadUInt32LittleEndian(p);
                int length = BinaryPrimitives.ReadUInt16LittleEndian(p[4..]);
                if (length > 4096) return Fail(Status.BadArgument);
                if (length < 1 || address + length > Memory.Length) return Fail(Status.AddressRange);
                var data = new byte[length];
                for (int i = 0; i < length; i++) data[i] = ReadByte(address + i);
                return Ok(data);
            }
            case Command.Fill:
            {
                if (p.Length < 10 || p.Length != 9 + p[8]) return Fail(Status.BadLength);
                long address = BinaryPrimitives.ReadUInt32LittleEndian(p), length = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
                var pattern = p[9..];
                if (pattern.Length is < 1 or > 16) return Fail(Status.BadArgument);
                if (address + length > Memory.Length) return Fail(Status.AddressRange);
                for (long i = 0; i < length; i++) Memory[address + i] = Written[address + i] = pattern[(int)(i % pattern.Length)];
                return Ok();
            }
            case Command.Compare:
                return Compare(p);
            case Command.Lease:
            {
                if (p.Length != 4) return Fail(Status.BadLength);
                uint ms = BinaryPrimitives.ReadUInt32LittleEndian(p);
                if (ms is < 100 or > 600_000) return Fail(Status.BadArgument);
                LeaseMs = ms;
                LeaseExpired = false;
                _leaseDeadline = Environment.TickCount64 + ms;
                var reply = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(reply, ms);
                return Ok(reply);
            }
            case Command.Reset:
                if (p.Length != 0) return Fail(Status.BadLength);
                VoltageMv = Description.VoltageNominalMv;
                TemperatureDeciC = BoardOperatingPoint.NominalTemperature;
                LeaseMs = _defaultLeaseMs;
                _leaseDeadline = Environment.TickCount64 + LeaseMs;
                _cache = null;
                return Ok();
            default:
                return Fail(Status.UnknownCommand);
        }
    }

    private (Status, byte[]) Compare(ReadOnlySpan<byte> p)
    {
        if (p.Length < 9) return (Status.BadLength, []);
        long address = BinaryPrimitives.ReadUInt32LittleEndian(p), length = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        byte reference = p[8];
        ReadOnlySpan<byte> pattern = [];
        if (reference == 0)
        {
            if (p.Length != 9) return (Status.BadLength, []);
            if ((Description.Capabilities & BoardCapabilities.CompareWritten) == 0) return (Status.BadArgument, []);
        }
        else if (reference == 1)
        {
            if (p.Length < 11 || p.Length != 10 + p[9]) return (Status.BadLength, []);
            pattern = p[10..];
            if (pattern.Length is < 1 or > 16) return (Status.BadArgument, []);
        }
        else return (Status.BadArgument, []);
        if (length < 1 || address + length > Memory.Length) return (Status.AddressRange, []);

        var bits = new List<long>();
        int size = CompareReply.HeaderLength;
        long previous = address * 8 - 1;
        long at = address;
        for (; at < address + length; at++)
        {
            byte expected = reference == 0 ? Written[at] : pattern[(int)((at - address) % pattern.Length)];
            int diff = ReadByte(at) ^ expected;
            var byteBits = new List<long>();
            int byteSize = 0;
            long prev = previous;
            for (int k = 0; k < 8; k++)
                if ((diff >> k & 1) != 0)
                {
                    long bit = at * 8 + k;
                    byteSize += Leb128.Length((ulong)(bit - prev - 1));
                    byteBits.Add(bit);
                    prev = bit;
                }
            // Stop only after a whole byte, when the next byte's bits would not fit; a reply always covers at least one byte.
            if (size + byteSize > CompareReplyLimit && at > address) break;
            bits.AddRange(byteBits);
            size += byteSize;
            previous = prev;
        }
        bool done = at == address + length;
        return (Status.Ok, new CompareReply(bits.ToArray(), (uint)at, done).ToPayload((uint)address));
    }

    private byte ReadByte(long address)
    {
        byte value = Memory[address];
        for (int k = 0; k < 8; k++)
            if (_weak.TryGetValue(address * 8 + k, out var w) && w.CriticalMv > VoltageMv)
            {
                value = (byte)(w.Stuck ? value | 1 << k : value & ~(1 << k));
                if ((Description.Capabilities & BoardCapabilities.Destructive) != 0) Memory[address] = value;
            }
        return value;
    }

    private static bool Bit(byte[] bytes, long cell) => (bytes[cell >> 3] >> (int)(cell & 7) & 1) != 0;

    private static byte[] Encode(ushort id, Command command, Status status, byte[]? payload = null) =>
        FrameEncoder.Encode(Frame.Reply(id, command, status, payload ?? []));

    private void Send(Connection connection, byte[] wire)
    {
        byte[]? before = null;
        lock (_gate)
        {
            if (Silent) return;
            if (DropReplies > 0)
            {
                DropReplies--;
                return;
            }
            if (StaleBeforeReplies > 0)
            {
                StaleBeforeReplies--;
                var decoded = new FrameDecoder().FeedAndTake(wire)[0].Frame;
                before = FrameEncoder.Encode(decoded with { RequestId = (ushort)(decoded.RequestId ^ 0x5A5A) });
            }
            if (GarbageBeforeReplies > 0)
            {
                GarbageBeforeReplies--;
                // Noise on an idle line, ended by a delimiter as a line that goes quiet between frames ends it.
                var garbage = new byte[40];
                _random.NextBytes(garbage);
                garbage[17] = 0;
                garbage[^1] = 0;
                before = [.. before ?? [], .. garbage];
            }
            if (FlipBitInReplies > 0)
            {
                FlipBitInReplies--;
                wire = (byte[])wire.Clone();
                int i = _random.Next(wire.Length - 1);
                wire[i] ^= (byte)(1 << _random.Next(8));
            }
            if (TruncateReplies > 0)
            {
                TruncateReplies--;
                wire = wire[..(wire.Length / 2)];
            }
        }
        if (ReplyDelay > TimeSpan.Zero) Thread.Sleep(ReplyDelay);
        if (before is not null) connection.Output.Write(before);
        connection.Output.Write(wire);
        connection.Output.Flush();
    }

    private void CheckLease()
    {
        lock (_gate)
        {
            if (Environment.TickCount64 < _leaseDeadline) return;
            if (VoltageMv != Description.VoltageNominalMv || TemperatureDeciC != BoardOperatingPoint.NominalTemperature)
            {
                VoltageMv = Description.VoltageNominalMv;
                TemperatureDeciC = BoardOperatingPoint.NominalTemperature;
                LeaseExpired = true;
                _cache = null; // a SET_OP retried after this runs again instead of answering OK for a point the board left
            }
            _leaseDeadline = Environment.TickCount64 + LeaseMs;
        }
    }
}
