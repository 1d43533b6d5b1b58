using System.Buffers.Binary;
using System.Text;
using HilBench.Memory;
using HilBench.Memory.Geometry;

namespace HilBench.Board.Protocol;

/// <summary>What a board can do besides storing bits (PROTOCOL.md §3.1).</summary>
[Flags]
public enum BoardCapabilities : uint
{
    None = 0,

    /// <summary>tRCD is controllable.</summary>
    Trcd = 1 << 0,

    /// <summary>The temperature set point is controllable.</summary>
    Temperature = 1 << 1,

    /// <summary>Telemetry measures the supply current.</summary>
    Current = 1 << 2,

    /// <summary>The board keeps the data last written, so COMPARE can use it as the reference.</summary>
    CompareWritten = 1 << 3,

    /// <summary>Running below a cell's critical voltage overwrites it: after a low-voltage read the host rewrites what it needs.</summary>
    Destructive = 1 << 4,

    /// <summary>The memory is emulated and the firmware can print its ground truth.</summary>
    Emulated = 1 << 5,
}

/// <summary>
/// The HELLO reply: the protocol version agreed, the memory's geometry, the ranges and steps of the operating
/// point, the settle time and lease, and the firmware's name. Units are the board's (mV, 10 ps, 0.1 °C).
/// </summary>
public sealed record BoardDescription
{
    public const int FixedLength = 53;

    public required byte Version { get; init; }
    public required byte MinVersion { get; init; }
    public required ushort MaxPayload { get; init; }
    public required BoardCapabilities Capabilities { get; init; }
    public required uint Blocks { get; init; }
    public required uint RowsPerBlock { get; init; }
    public required uint BitsPerRow { get; init; }
    public required ushort WordBits { get; init; }
    public required ushort VoltageNominalMv { get; init; }
    public required ushort VoltageFloorMv { get; init; }
    public required ushort VoltageMaxMv { get; init; }
    public required ushort VoltageStepMv { get; init; }
    public required ushort TrcdNominal { get; init; }
    public required ushort TrcdMin { get; init; }
    public required ushort TrcdMax { get; init; }
    public required ushort TrcdStep { get; init; }
    public required short TemperatureNominal { get; init; }
    public required short TemperatureMin { get; init; }
    public required short TemperatureMax { get; init; }
    public required short TemperatureStep { get; init; }
    public required ushort SettleMs { get; init; }
    public required uint LeaseMs { get; init; }
    public required string Firmware { get; init; }

    public bool Has(BoardCapabilities capability) => (Capabilities & capability) == capability;

    /// <summary>
    /// tRCD can be set: the capability bit and a range with a step. A field the board does not control comes with
    /// step 0 (PROTOCOL.md §3.1), so both must agree before the host sends anything but "nominal".
    /// </summary>
    public bool ControlsTrcd => Has(BoardCapabilities.Trcd) && TrcdStep > 0;

    /// <summary>The temperature set point can be moved: the capability bit and a range with a step.</summary>
    public bool ControlsTemperature => Has(BoardCapabilities.Temperature) && TemperatureStep > 0;

    public MemoryGeometry Geometry => new((int)Blocks, (int)RowsPerBlock, (int)BitsPerRow, WordBits);

    public long TotalBits => (long)Blocks * RowsPerBlock * BitsPerRow;

    public long TotalBytes => TotalBits / 8;

    /// <summary>The nominal point in HilBench's units: volts, ns (only when tRCD is controllable) and °C.</summary>
    public OperatingPoint NominalPoint => new(VoltageNominalMv / 1000.0, ControlsTrcd ? TrcdNominal / 100.0 : null, TemperatureNominal / 10.0);

    /// <summary>SET_OP to the nominal point: nominal voltage, "nominal" for tRCD and temperature.</summary>
    public BoardOperatingPoint Nominal => new(VoltageNominalMv);

    public static BoardDescription Parse(ReadOnlySpan<byte> p)
    {
        if (p.Length < FixedLength) throw BoardProtocolException.WrongSize(Command.Hello, p.Length, $"at least {FixedLength}");
        int nameLength = p[52];
        if (p.Length != FixedLength + nameLength)
            throw BoardProtocolException.WrongSize(Command.Hello, p.Length, $"{FixedLength + nameLength} ({FixedLength} + a firmware name of {nameLength})");
        var name = p.Slice(FixedLength, nameLength);
        foreach (byte c in name)
            if (c is < 0x20 or > 0x7E)
                throw new BoardProtocolException($"HELLO reply: the firmware name holds byte 0x{c:x2}, not printable ASCII");
        var d = new BoardDescription
        {
            Version = p[0],
            MinVersion = p[1],
            MaxPayload = U16(p, 2),
            Capabilities = (BoardCapabilities)BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
            Blocks = U32(p, 8),
            RowsPerBlock = U32(p, 12),
            BitsPerRow = U32(p, 16),
            WordBits = U16(p, 20),
            VoltageNominalMv = U16(p, 22),
            VoltageFloorMv = U16(p, 24),
            VoltageMaxMv = U16(p, 26),
            VoltageStepMv = U16(p, 28),
            TrcdNominal = U16(p, 30),
            TrcdMin = U16(p, 32),
            TrcdMax = U16(p, 34),
            TrcdStep = U16(p, 36),
            TemperatureNominal = I16(p, 38),
            TemperatureMin = I16(p, 40),
            TemperatureMax = I16(p, 42),
            TemperatureStep = I16(p, 44),
            SettleMs = U16(p, 46),
            LeaseMs = U32(p, 48),
            Firmware = Encoding.ASCII.GetString(name),
        };
        d.Validate();
        return d;
    }

    public byte[] ToPayload()
    {
        var name = Encoding.ASCII.GetBytes(Firmware);
        if (name.Length > 255) throw new ArgumentException($"a firmware name has at most 255 bytes, '{Firmware}' has {name.Length}");
        var p = new byte[FixedLength + name.Length];
        var s = p.AsSpan();
        s[0] = Version;
        s[1] = MinVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], MaxPayload);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)Capabilities);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], Blocks);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], RowsPerBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], BitsPerRow);
        ushort[] u16 = [WordBits, VoltageNominalMv, VoltageFloorMv, VoltageMaxMv, VoltageStepMv, TrcdNominal, TrcdMin, TrcdMax, TrcdStep];
        for (int i = 0; i < u16.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(s[(20 + 2 * i)..], u16[i]);
        short[] i16 = [TemperatureNominal, TemperatureMin, TemperatureMax, TemperatureStep];
        for (int i = 0; i < i16.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(s[(38 + 2 * i)..], i16[i]);
        BinaryPrimitives.WriteUInt16LittleEndian(s[46..], SettleMs);
        BinaryPrimitives.WriteUInt32LittleEndian(s[48..], LeaseMs);
        s[52] = (byte)name.Length;
        name.CopyTo(s[FixedLength..]);
        return p;
    }

    /// <summary>Catches descriptions the host could not work with, naming the field, before anything relies on them.</summary>
    private void Validate()
    {
        static BoardProtocolException Bad(string what) => new($"HELLO reply: {what}");
        if (Blocks == 0 || RowsPerBlock == 0 || BitsPerRow == 0) throw Bad($"the memory has no cells ({Blocks} blocks x {RowsPerBlock} rows x {BitsPerRow} bits)");
        if (Blocks > int.MaxValue || RowsPerBlock > int.MaxValue || BitsPerRow > int.MaxValue) throw Bad($"geometry {Blocks}x{RowsPerBlock}x{BitsPerRow} is beyond what the host addresses");
        if (BitsPerRow % 8 != 0) throw Bad($"bits per row ({BitsPerRow}) is not a multiple of 8");
        if (WordBits == 0 || BitsPerRow % WordBits != 0) throw Bad($"word bits ({WordBits}) does not divide bits per row ({BitsPerRow})");
        if (TotalBytes > uint.MaxValue) throw Bad($"the memory has {TotalBytes} bytes, more than 32-bit byte addresses and lengths reach");
        if (MaxPayload is < 16 or > Frame.MaxPayload) throw Bad($"max_payload {MaxPayload} is outside 16..{Frame.MaxPayload}");
        if (VoltageFloorMv > VoltageNominalMv || VoltageNominalMv > VoltageMaxMv)
            throw Bad($"voltages floor {VoltageFloorMv} mV, nominal {VoltageNominalMv} mV, maximum {VoltageMaxMv} mV are not in order");
    }

    private static ushort U16(ReadOnlySpan<byte> p, int at) => BinaryPrimitives.ReadUInt16LittleEndian(p[at..]);

    private static short I16(ReadOnlySpan<byte> p, int at) => BinaryPrimitives.ReadInt16LittleEndian(p[at..]);

    private static uint U32(ReadOnlySpan<byte> p, int at) => BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
}
