using System.Buffers.Binary;

namespace HilBench.Board.Protocol;

/// <summary>Request payloads of PROTOCOL.md §3, checked against the limits the board would refuse them for.</summary>
public static class Requests
{
    public const int MaxPatternLength = 16;
    public const uint MinLeaseMs = 100, MaxLeaseMs = 600_000;

    public static byte[] Hello(byte minVersion, byte maxVersion) =>
        minVersion <= maxVersion ? [minVersion, maxVersion] : throw new ArgumentException($"version range {minVersion}..{maxVersion} is empty");

    public static byte[] SetOp(BoardOperatingPoint point) => point.ToPayload();

    public static byte[] Write(uint address, ReadOnlySpan<byte> data)
    {
        if (data.Length is < 1 or > Frame.MaxWriteData)
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, $"a WRITE carries 1..{Frame.MaxWriteData} bytes");
        var p = new byte[4 + data.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(p, address);
        data.CopyTo(p.AsSpan(4));
        return p;
    }

    public static byte[] Read(uint address, int length)
    {
        if (length is < 1 or > Frame.MaxPayload) throw new ArgumentOutOfRangeException(nameof(length), length, $"a READ returns 1..{Frame.MaxPayload} bytes");
        var p = new byte[6];
        BinaryPrimitives.WriteUInt32LittleEndian(p, address);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(4), (ushort)length);
        return p;
    }

    public static byte[] Fill(uint address, uint length, ReadOnlySpan<byte> pattern)
    {
        CheckPattern(pattern);
        var p = new byte[9 + pattern.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(p, address);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), length);
        p[8] = (byte)pattern.Length;
        pattern.CopyTo(p.AsSpan(9));
        return p;
    }

    /// <summary>COMPARE against the data last written (reference 0; needs <see cref="BoardCapabilities.CompareWritten"/>).</summary>
    public static byte[] CompareWritten(uint address, uint length)
    {
        var p = new byte[9];
        BinaryPrimitives.WriteUInt32LittleEndian(p, address);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), length);
        return p;
    }

    /// <summary>COMPARE against a pattern repeated from <paramref name="address"/> (reference 1).</summary>
    public static byte[] ComparePattern(uint address, uint length, ReadOnlySpan<byte> pattern)
    {
        CheckPattern(pattern);
        var p = new byte[10 + pattern.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(p, address);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), length);
        p[8] = 1;
        p[9] = (byte)pattern.Length;
        pattern.CopyTo(p.AsSpan(10));
        return p;
    }

    public static byte[] Lease(uint leaseMs)
    {
        if (leaseMs is < MinLeaseMs or > MaxLeaseMs) throw new ArgumentOutOfRangeException(nameof(leaseMs), leaseMs, $"a lease is {MinLeaseMs}..{MaxLeaseMs} ms");
        var p = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(p, leaseMs);
        return p;
    }

    private static void CheckPattern(ReadOnlySpan<byte> pattern)
    {
        if (pattern.Length is < 1 or > MaxPatternLength)
            throw new ArgumentOutOfRangeException(nameof(pattern), pattern.Length, $"a pattern has 1..{MaxPatternLength} bytes");
    }
}
