using System.Buffers.Binary;
using HilBench.Memory;

namespace HilBench.Board.Protocol;

/// <summary>The GET_TELEMETRY reply (PROTOCOL.md §3.2): what the board measures and how long its lease has left.</summary>
public sealed record Telemetry(
    ushort SetVoltageMv,
    ushort MeasuredVoltageMv,
    uint CurrentMicroamps,
    short TemperatureDeciC,
    ushort TrcdTenPs,
    uint UptimeMs,
    uint LeaseRemainingMs,
    byte Flags)
{
    public const int PayloadLength = 21;

    /// <summary>The lease ran out since the last LEASE or HELLO and the board went back to its nominal point on its own.</summary>
    public bool LeaseExpired => (Flags & 1) != 0;

    public double MeasuredVoltage => MeasuredVoltageMv / 1000.0;

    public double TemperatureC => TemperatureDeciC / 10.0;

    /// <summary>The point as measured; tRCD only when the board controls it.</summary>
    public OperatingPoint Measured(bool boardControlsTrcd) =>
        new(MeasuredVoltage, boardControlsTrcd ? TrcdTenPs / 100.0 : null, TemperatureC);

    public static Telemetry Parse(ReadOnlySpan<byte> p)
    {
        if (p.Length != PayloadLength) throw BoardProtocolException.WrongSize(Command.GetTelemetry, p.Length, "21");
        return new(BinaryPrimitives.ReadUInt16LittleEndian(p), BinaryPrimitives.ReadUInt16LittleEndian(p[2..]), BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
            BinaryPrimitives.ReadInt16LittleEndian(p[8..]), BinaryPrimitives.ReadUInt16LittleEndian(p[10..]), BinaryPrimitives.ReadUInt32LittleEndian(p[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(p[16..]), p[20]);
    }

    public byte[] ToPayload()
    {
        var p = new byte[PayloadLength];
        BinaryPrimitives.WriteUInt16LittleEndian(p, SetVoltageMv);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(2), MeasuredVoltageMv);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), CurrentMicroamps);
        BinaryPrimitives.WriteInt16LittleEndian(p.AsSpan(8), TemperatureDeciC);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(10), TrcdTenPs);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(12), UptimeMs);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(16), LeaseRemainingMs);
        p[20] = Flags;
        return p;
    }
}
