using System.Buffers.Binary;
using System.Globalization;

namespace HilBench.Board.Protocol;

/// <summary>
/// An operating point in the board's units, as SET_OP requests it and replies with the point applied: voltage in
/// mV, tRCD in 10 ps units (0 = nominal) and temperature in 0.1 °C (0x7FFF = nominal).
/// </summary>
public readonly record struct BoardOperatingPoint(ushort VoltageMv, ushort TrcdTenPs = BoardOperatingPoint.NominalTrcd, short TemperatureDeciC = BoardOperatingPoint.NominalTemperature)
{
    public const ushort NominalTrcd = 0;
    public const short NominalTemperature = 0x7FFF;
    public const int PayloadLength = 6;

    public static BoardOperatingPoint Parse(ReadOnlySpan<byte> payload, Command command = Command.SetOp)
    {
        if (payload.Length != PayloadLength) throw BoardProtocolException.WrongSize(command, payload.Length, PayloadLength.ToString(CultureInfo.InvariantCulture));
        return new(BinaryPrimitives.ReadUInt16LittleEndian(payload), BinaryPrimitives.ReadUInt16LittleEndian(payload[2..]), BinaryPrimitives.ReadInt16LittleEndian(payload[4..]));
    }

    public byte[] ToPayload()
    {
        var p = new byte[PayloadLength];
        BinaryPrimitives.WriteUInt16LittleEndian(p, VoltageMv);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(2), TrcdTenPs);
        BinaryPrimitives.WriteInt16LittleEndian(p.AsSpan(4), TemperatureDeciC);
        return p;
    }

    public override string ToString() =>
        $"{VoltageMv} mV, tRCD {(TrcdTenPs == NominalTrcd ? "nominal" : (TrcdTenPs / 100.0).ToString("0.00", CultureInfo.InvariantCulture) + " ns")}, " +
        $"T {(TemperatureDeciC == NominalTemperature ? "nominal" : (TemperatureDeciC / 10.0).ToString("0.0", CultureInfo.InvariantCulture) + " C")}";
}
