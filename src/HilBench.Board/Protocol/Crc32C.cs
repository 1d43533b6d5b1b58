using System.Buffers.Binary;
using System.Numerics;

namespace HilBench.Board.Protocol;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as PROTOCOL.md uses it: init 0xFFFFFFFF, final xor
/// 0xFFFFFFFF, so CRC-32C("123456789") = 0xE3069283. <see cref="BitOperations.Crc32C(uint, ulong)"/> is the bare
/// register update (the SSE4.2 / ARMv8 instruction), without the init and final xor.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>Continues a raw register value (no init, no final xor) over more data.</summary>
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            register = BitOperations.Crc32C(register, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        if (data.Length >= 4)
        {
            register = BitOperations.Crc32C(register, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }
        foreach (byte b in data) register = BitOperations.Crc32C(register, b);
        return register;
    }
}
