using System.Buffers.Binary;
using HilBench.Board.Protocol;

namespace HilBench.Board.Tests.Support;

/// <summary>
/// Plain, slow, independent implementations of the codec's pieces (bitwise CRC, textbook COBS, a receiver
/// written straight from PROTOCOL.md §1), to check the real ones against.
/// </summary>
internal static class Reference
{
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? crc >> 1 ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    public static byte[]? CobsDecode(ReadOnlySpan<byte> e)
    {
        var output = new List<byte>();
        int i = 0;
        if (e.Length == 0) return null;
        while (i < e.Length)
        {
            int code = e[i];
            if (code == 0 || i + code > e.Length) return null;
            for (int k = 1; k < code; k++)
            {
                if (e[i + k] == 0) return null;
                output.Add(e[i + k]);
            }
            i += code;
            if (code < 0xFF && i < e.Length) output.Add(0);
        }
        return output.ToArray();
    }

    public enum Outcome { Ok, Garbage, BadLength, BadCrc, TooLong, BadFlags }

    /// <summary>What a receiver makes of one run of bytes between delimiters, and the frame if it reads one.</summary>
    public static (Outcome, Frame?) Receive(ReadOnlySpan<byte> segment)
    {
        if (segment.Length > 4125) return (Outcome.TooLong, null);
        var body = CobsDecode(segment);
        if (body is null || body.Length < 12 || body.Length > 4108) return (Outcome.Garbage, null);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(6));
        var frame = new Frame(body[0], (body[1] & 1) != 0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(2)), (Command)body[4], (Status)body[5], body[8..^4]);
        // PROTOCOL.md §1: flags, then CRC, then the length field.
        if ((body[1] & 0xFE) != 0) return (Outcome.BadFlags, null);
        if (BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(body.Length - 4)) != Crc32C(body.AsSpan(0, body.Length - 4))) return (Outcome.BadCrc, frame);
        if (length != body.Length - 12) return (Outcome.BadLength, frame);
        return (Outcome.Ok, frame);
    }

    /// <summary>
    /// Splits a byte stream at delimiters as a receiver does; the bytes after the last delimiter stay pending. A run
    /// longer than 4125 bytes is one too-long event however long it grows.
    /// </summary>
    public static List<(Outcome, Frame?)> ReceiveAll(ReadOnlySpan<byte> stream)
    {
        var results = new List<(Outcome, Frame?)>();
        while (true)
        {
            int end = stream.IndexOf((byte)0);
            if (end < 0) return results;
            results.Add(Receive(stream[..end]));
            stream = stream[(end + 1)..];
        }
    }
}
