namespace HilBench.Board.Protocol;

/// <summary>
/// Consistent Overhead Byte Stuffing (Cheshire and Baker 1999): removes every 0x00 from a body so that 0x00 can
/// delimit frames. A run of 254 non-zero bytes is a full block (code 0xFF, no implied zero); the encoding always
/// ends with a block, so a body ending on a full block gets a trailing 0x01, as make_vectors.py writes it.
/// </summary>
public static class Cobs
{
    /// <summary>The longest encoding of <paramref name="length"/> bytes: one code byte per started 254-byte block, plus the last block's.</summary>
    public static int MaxEncodedLength(int length) => length + length / 254 + 1;

    /// <summary>Encodes <paramref name="data"/> into <paramref name="destination"/> (no delimiter) and returns the encoded length.</summary>
    public static int Encode(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (destination.Length < MaxEncodedLength(data.Length))
            throw new ArgumentException($"COBS needs up to {MaxEncodedLength(data.Length)} bytes for {data.Length} bytes of data; the destination has {destination.Length}", nameof(destination));
        int codeAt = 0, o = 1;
        byte code = 1;
        foreach (byte b in data)
        {
            if (b == 0)
            {
                destination[codeAt] = code;
                codeAt = o++;
                code = 1;
                continue;
            }
            destination[o++] = b;
            if (++code == 0xFF)
            {
                destination[codeAt] = code;
                codeAt = o++;
                code = 1;
            }
        }
        destination[codeAt] = code;
        return o;
    }

    public static byte[] Encode(ReadOnlySpan<byte> data)
    {
        var buffer = new byte[MaxEncodedLength(data.Length)];
        return buffer.AsSpan(0, Encode(data, buffer)).ToArray();
    }

    /// <summary>
    /// Decodes one frame's encoding (without its delimiter). False when it is not a COBS encoding: a code byte
    /// points past the end, a 0x00 appears inside, or it is empty; also when <paramref name="destination"/> is too small.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, Span<byte> destination, out int written)
    {
        written = 0;
        if (encoded.IsEmpty) return false;
        int i = 0, o = 0;
        while (i < encoded.Length)
        {
            int code = encoded[i++];
            if (code == 0) return false;
            int run = code - 1;
            if (run > encoded.Length - i || run > destination.Length - o) return false;
            var block = encoded.Slice(i, run);
            if (block.Contains((byte)0)) return false;
            block.CopyTo(destination[o..]);
            i += run;
            o += run;
            if (code != 0xFF && i < encoded.Length)
            {
                if (o >= destination.Length) return false;
                destination[o++] = 0;
            }
        }
        written = o;
        return true;
    }

    /// <summary>The decoded bytes; throws <see cref="FormatException"/> when <paramref name="encoded"/> is not a COBS encoding.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> encoded)
    {
        var buffer = new byte[encoded.Length];
        return TryDecode(encoded, buffer, out int n)
            ? buffer.AsSpan(0, n).ToArray()
            : throw new FormatException($"{encoded.Length} bytes are not a COBS encoding (a code byte points past the end, or a 0x00 is inside)");
    }
}
